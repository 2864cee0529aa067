// MRVI on the CUDA backend (label gpu): same seed, data and Philox draws (u and eps noise, attention
// dropout) as the CPU backend, so the first step's loss and gradients, the next steps' losses and short
// Trainer runs with captured step graphs agree within f32 rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/arena.h"
#include "engine/optimizer.h"
#include "engine/trainer.h"
#include "models/mrvi/mrvi_model.h"
#include "tests/models/backend_trace.h"
#include "tests/models/synthetic_counts.h"

namespace cuvi::models {
namespace {

constexpr int kSteps = 4;

using test::Trace;


MrviConfig small(int64_t n_batch, int64_t n_labels) {
  MrviConfig c;
  c.n_genes = 37;
  c.n_sample = 5;
  c.n_batch = n_batch;
  c.n_labels = n_labels;
  c.n_latent = 6;
  c.n_latent_u = 4;
  c.encoder_n_hidden = 16;
  return c;
}

Trace train(Backend& b, const MrviConfig& cfg, int64_t N) {
  MrviModel model(cfg);
  model.allocate(b, 3);
  const int64_t G = cfg.n_genes;
  std::vector<float> x(N * G);
  for (int64_t i = 0; i < N * G; ++i) x[i] = float((i * 7919) % 11 < 5 ? 0 : (i * 104729) % 9);
  for (int64_t i = 0; i < N; ++i) x[i * G] += 1;
  std::vector<int32_t> sample(N), batch(N), labels(N);
  std::vector<float> n_obs(cfg.n_sample, 0.f);
  for (int64_t i = 0; i < N; ++i) {
    sample[i] = int32_t((i * 7) % cfg.n_sample);
    batch[i] = int32_t(sample[i] % cfg.n_batch);
    labels[i] = int32_t(i % cfg.n_labels);
    n_obs[sample[i]] += 1;
  }
  model.set_n_obs_per_sample(n_obs);
  const Device dev = b.device();
  DeviceBuffer xb(b, x.size() * 4), sb(b, N * 4), bb(b, N * 4), lb(b, N * 4);
  b.upload(xb.data(), x.data(), x.size() * 4);
  b.upload(sb.data(), sample.data(), N * 4);
  b.upload(bb.data(), batch.data(), N * 4);
  b.upload(lb.data(), labels.data(), N * 4);
  MiniBatch mb;
  mb.n = N;
  mb.x = Tensor(xb.data(), DType::F32, dev, Shape{N, G});
  mb.codes = Tensor(sb.data(), DType::I32, dev, Shape{N, 1});
  mb.batch = Tensor(bb.data(), DType::I32, dev, Shape{N});
  mb.labels = Tensor(lb.data(), DType::I32, dev, Shape{N});
  mb.rows = Tensor(sb.data(), DType::I32, dev, Shape{N});
  return test::record_steps(b, model, mb, AdamConfig::mrvi(), kSteps, 0.7);
}

// Tolerances: test::compare_traces (the attention key bias has an exactly zero gradient).
void compare_backends(const MrviConfig& cfg, int64_t N = 40) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  auto cpu = make_cpu_backend(11, 1);
  auto gpu = make_cuda_backend(11);
  const Trace a = train(*cpu, cfg, N);
  const Trace b = train(*gpu, cfg, N);
  auto tmp = make_cpu_backend(1, 1);
  MrviModel layout(cfg);
  layout.allocate(*tmp, 3);
  test::compare_traces(a, b, layout.params());
}

TEST(MrviCuda, DefaultOptionsMatchCpu) { compare_backends(small(2, 1)); }
TEST(MrviCuda, ParityLabelPriorMatchesCpu) {
  MrviConfig c = small(2, 3);
  c.label_prior = "parity";
  compare_backends(c, 24);
}
TEST(MrviCuda, SampledEpsOneBatchNormalPriorMatchesCpu) {
  MrviConfig c = small(1, 1);
  c.qz_use_map = false;
  c.u_prior_mixture = false;
  c.learn_z_u_prior_scale = true;
  c.scale_observations = true;
  compare_backends(c);
}
TEST(MrviCuda, FullBatchResidualStoppedGradientsMatchCpu) {
  MrviConfig c = small(3, 2);
  c.px_low_dim_batch = false;
  c.px.stop_gradients = true;
  c.qz.stop_gradients = true;
  c.qz.stop_gradients_mlp = false;
  c.px.n_layers = 2;
  c.z_u_prior = false;
  compare_backends(c);
}

// The Trainer end to end with captured step graphs (the parity prior's pair codes are uploaded on a
// minibatch size's first, eager step): three epochs agree with the CPU within f32 rounding.
TEST(MrviCuda, TrainerWithStepGraphsMatchesCpu) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t R = 100;
  const MrviConfig base = small(2, 3);
  const test::SyntheticCounts counts(R, base.n_genes);
  std::map<std::string, std::vector<double>> history[2];
  int64_t captured = 0;
  for (int dev = 0; dev < 2; ++dev) {
    auto b = dev ? make_cuda_backend(5) : make_cpu_backend(5, 1);
    MrviConfig cfg = base;
    cfg.label_prior = "parity";
    MrviModel model(cfg);
    model.allocate(*b, 5);
    CellTable cells;
    cells.n_codes = 1;
    for (int64_t r = 0; r < R; ++r) {
      cells.codes.push_back(int32_t(r % cfg.n_sample));
      cells.batch.push_back(int32_t(r % cfg.n_sample % cfg.n_batch));
      cells.labels.push_back(int32_t(r % cfg.n_labels));
    }
    model.set_n_obs_per_sample(std::vector<float>(cfg.n_sample, 20.f));
    DeviceDataset ds(*b, counts.view(), cells);
    TrainConfig tc = mrvi_train_config();
    tc.max_epochs = 3;
    tc.batch_size = 32;
    tc.seed = 5;
    tc.progress = false;
    tc.n_epochs_kl_warmup = 2;
    Trainer trainer(*b, model, ds, tc);
    const TrainResult r = trainer.fit();
    history[dev] = r.history;
    if (dev) captured = r.graphs.captured;
  }
  EXPECT_GT(captured, 0) << "the CUDA run must replay captured step graphs";
  test::compare_histories(history[0], history[1]);
}

}  // namespace
}  // namespace cuvi::models
