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
#include "tests/models/synthetic_counts.h"

namespace cuvi::models {
namespace {

constexpr int kSteps = 4;

struct Trace {
  std::vector<double> losses;  // per step
  std::vector<float> grads;    // flat parameter gradients of the first step
  std::vector<float> params;   // flat parameters after the last step
};

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

  Arena arena(b, 64 << 20, "test");
  Adam opt(b, model.params(), AdamConfig::scvi());
  StepScalars s = b.read_scalars();
  s.kl_weight = 0.7;
  b.write_scalars(s);
  Tape tape(b, arena);
  Trace t;
  ParamStore& ps = model.params();
  for (int step = 0; step < kSteps; ++step) {
    tape.begin_step();
    const StepTensors st = model.record(tape, mb, true);
    float loss = 0;
    b.download(&loss, tape.value(st.loss).data, sizeof loss);
    t.losses.push_back(loss);
    tape.backward(st.loss);
    if (step == 0) {
      t.grads.resize(ps.n_trainable_floats());
      b.download(t.grads.data(), ps.flat_grads(), t.grads.size() * sizeof(float));
    }
    opt.set_used(tape.params_with_grad());
    opt.step();
  }
  t.params.resize(ps.n_trainable_floats());
  b.download(t.params.data(), ps.flat_params(), t.params.size() * sizeof(float));
  EXPECT_EQ(b.read_scalars().step, kSteps);
  return t;
}

// Losses: the first step differs only by f32 summation order (CUDA tree reductions, cuBLAS vs the
// double-accumulating reference), ~1e-6 relative; each later step adds the parameter differences of
// one Adam update (lr 1e-3), so 1e-4 relative bounds them. Gradients: per parameter tensor, relative to
// its largest entry, the f32 accumulation error of a reduction over the minibatch and genes (~1e-4).
void compare_backends(const ScviConfig& cfg, int64_t N = 40, int64_t G = 53) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  auto cpu = make_cpu_backend(11, 1);
  auto gpu = make_cuda_backend(11);
  const Trace a = train(*cpu, cfg, N, G);
  const Trace b = train(*gpu, cfg, N, G);
  for (int step = 0; step < kSteps; ++step) {
    const double tol = (step == 0 ? 1e-5 : 1e-4) * std::fabs(a.losses[step]);
    EXPECT_NEAR(b.losses[step], a.losses[step], tol) << "loss of step " << step;
  }
  ScviConfig c = cfg;
  c.n_genes = G;
  auto tmp = make_cpu_backend(1, 1);
  ScviModel layout(c);
  layout.allocate(*tmp, 3);
  const ParamStore& ps = layout.params();
  ASSERT_EQ(a.grads.size(), b.grads.size());
  double global = 0;
  for (float g : a.grads) global = std::max(global, double(std::fabs(g)));
  for (const ParamEntry& e : ps.entries()) {
    if (!e.trainable) continue;
    const int64_t n = e.shape.numel();
    double scale = 0;
    for (int64_t k = 0; k < n; ++k) scale = std::max(scale, double(std::fabs(a.grads[e.offset + k])));
    // The second term covers tensors whose exact gradient vanishes (a bias followed by BatchNorm in
    // training): there both backends hold rounding noise of the sums that cancel.
    for (int64_t k = 0; k < n; ++k) {
      ASSERT_TRUE(std::isfinite(b.grads[e.offset + k])) << e.name << "[" << k << "]";
      EXPECT_NEAR(b.grads[e.offset + k], a.grads[e.offset + k], 1e-4 * scale + 1e-6 * global)
          << "gradient of " << e.name << "[" << k << "] (largest gradient " << global << ")";
    }
  }
  for (size_t k = 0; k < a.params.size(); ++k) ASSERT_TRUE(std::isfinite(b.params[k])) << "parameter " << k;
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
  for (const char* key : {"train_loss_epoch", "elbo_train", "reconstruction_loss_train", "kl_local_train",
                          "elbo_validation", "validation_loss"}) {
    ASSERT_TRUE(history[0].count(key) && history[1].count(key)) << key;
    const auto& a = history[0].at(key);
    const auto& c = history[1].at(key);
    ASSERT_EQ(a.size(), c.size()) << key;
    for (size_t e = 0; e < a.size(); ++e) EXPECT_NEAR(c[e], a[e], 1e-4 * std::fabs(a[e])) << key << " epoch " << e;
  }
}

}  // namespace
}  // namespace cuvi::models
