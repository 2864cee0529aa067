// SCVI training on the CUDA backend (label gpu): same seed, data and Philox draws as the CPU backend, so the
// first step's loss and gradients, the next steps' losses and short Trainer runs agree within f32 rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/arena.h"
#include "engine/optimizer.h"
#include "engine/trainer.h"
#include "models/scvi/scvi_model.h"
#include "tests/models/backend_trace.h"
#include "tests/models/synthetic_counts.h"

namespace cuvi::models {
namespace {

constexpr int kSteps = 4;

using test::Trace;


// kSteps optimizer steps on one minibatch of N cells, recorded exactly as the trainer does.
Trace train(Backend& b, ScviConfig cfg, int64_t N, int64_t G) {
  cfg.n_genes = G;
  ScviModel model(cfg);
  model.allocate(b, 3);
  std::vector<float> x(N * G);
  for (int64_t i = 0; i < N * G; ++i) x[i] = float((i * 7919) % 11 < 5 ? 0 : (i * 104729) % 9);
  for (int64_t i = 0; i < N; ++i) x[i * G] += 1;  // every cell has counts
  std::vector<int32_t> batch(N), codes;
  for (int64_t i = 0; i < N; ++i) batch[i] = int32_t(i % cfg.n_batch);
  const CovariateLayout& l = model.module().layout();
  codes.resize(N * l.n_codes);
  for (int64_t i = 0; i < N; ++i) l.encode(batch[i], nullptr, codes.data() + i * l.n_codes);
  if (!cfg.use_observed_lib_size) {
    std::vector<double> totals(N, 0);
    for (int64_t i = 0; i < N; ++i)
      for (int64_t g = 0; g < G; ++g) totals[i] += x[i * G + g];
    model.set_library_prior_from_counts(totals, batch);
  }
  const Device dev = b.device();
  DeviceBuffer xb(b, x.size() * 4), bb(b, batch.size() * 4), cb(b, std::max<size_t>(codes.size(), 1) * 4);
  b.upload(xb.data(), x.data(), x.size() * 4);
  b.upload(bb.data(), batch.data(), batch.size() * 4);
  if (!codes.empty()) b.upload(cb.data(), codes.data(), codes.size() * 4);
  MiniBatch mb;
  mb.n = N;
  mb.x = Tensor(xb.data(), DType::F32, dev, Shape{N, G});
  if (!codes.empty()) mb.codes = Tensor(cb.data(), DType::I32, dev, Shape{N, l.n_codes});
  mb.batch = Tensor(bb.data(), DType::I32, dev, Shape{N});
  mb.labels = Tensor(bb.data(), DType::I32, dev, Shape{N});
  mb.rows = Tensor(bb.data(), DType::I32, dev, Shape{N});

  return test::record_steps(b, model, mb, AdamConfig::scvi(), kSteps, 0.7);
}

// Tolerances: test::compare_traces.
void compare_backends(const ScviConfig& cfg, int64_t N = 40, int64_t G = 53) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  auto cpu = make_cpu_backend(11, 1);
  auto gpu = make_cuda_backend(11);
  const Trace a = train(*cpu, cfg, N, G);
  const Trace b = train(*gpu, cfg, N, G);
  ScviConfig c = cfg;
  c.n_genes = G;
  auto tmp = make_cpu_backend(1, 1);
  ScviModel layout(c);
  layout.allocate(*tmp, 3);
  test::compare_traces(a, b, layout.params());
}

ScviConfig small() {
  ScviConfig c;
  c.n_hidden = 16;
  c.n_latent = 4;
  c.n_batch = 2;
  c.dropout_rate = 0.1;
  return c;
}

TEST(ScviCuda, ZinbGeneObservedLibraryMatchesCpu) { compare_backends(small()); }
TEST(ScviCuda, NbGeneBatchLearnedLibraryTwoLayersMatchesCpu) {
  ScviConfig c = small();
  c.gene_likelihood = "nb";
  c.dispersion = "gene-batch";
  c.use_observed_lib_size = false;
  c.n_layers = 2;
  compare_backends(c);
}
TEST(ScviCuda, PoissonLayerNormLogNormalLatentMatchesCpu) {
  ScviConfig c = small();
  c.gene_likelihood = "poisson";
  c.use_batch_norm = "none";
  c.use_layer_norm = "both";
  c.latent_distribution = "ln";
  compare_backends(c);
}
TEST(ScviCuda, LinearScviMatchesCpu) {
  ScviConfig c = ScviConfig::linear_scvi();
  c.n_hidden = 16;
  c.n_latent = 4;
  c.n_batch = 2;
  compare_backends(c);
}

// The Trainer end to end (device loader, shuffled epochs, KL warm-up, metric accumulation on the device,
// validation in eval mode): three epochs of three steps. Per-epoch means move apart by the parameter
// differences of up to nine Adam updates (scvi's eps = 0.01 keeps rounding-level gradients from moving
// parameters), so 1e-4 relative bounds them as it bounds the per-step losses above.
TEST(ScviCuda, TrainerEpochsMatchCpu) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t R = 100, G = 40;
  const test::SyntheticCounts counts(R, G);
  std::map<std::string, std::vector<double>> history[2];
  for (int dev = 0; dev < 2; ++dev) {
    auto b = dev ? make_cuda_backend(5) : make_cpu_backend(5, 1);
    ScviConfig cfg = small();
    cfg.n_genes = G;
    ScviModel model(cfg);
    model.allocate(*b, 5);
    const CellTable cells = test::synthetic_cells(model.module().layout(), R, cfg.n_batch);
    DeviceDataset ds(*b, counts.view(), cells);
    TrainConfig tc;
    tc.max_epochs = 3;
    tc.batch_size = 32;
    tc.seed = 5;
    tc.progress = false;
    tc.n_epochs_kl_warmup = 2;
    Trainer trainer(*b, model, ds, tc);
    history[dev] = trainer.fit().history;
  }
  test::compare_histories(history[0], history[1]);
}

}  // namespace
}  // namespace cuvi::models
