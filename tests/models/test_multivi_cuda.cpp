// MULTIVI on the CUDA backend (label gpu): same seed, data and Philox draws as the CPU backend, so the first step's
// loss and gradients and the next steps' losses agree within f32 rounding, with paired, RNA-only and ATAC-only cells
// (the masked reconstructions and the pair penalty of the fused loss assembly, elbo_mean).
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "models/multivi/multivi_model.h"
#include "tests/models/backend_trace.h"

namespace cuvi::models {
namespace {

constexpr int kSteps = 4;

MultiviConfig small(const std::string& penalty, const std::string& weights, int64_t N) {
  MultiviConfig c;
  c.n_genes = 23;
  c.n_regions = 41;
  c.n_obs = N;
  c.n_hidden = 16;
  c.n_latent = 5;
  c.modality_penalty = penalty;
  c.modality_weights = weights;
  c.resolve();
  return c;
}

// Cells 0, 5, 10, ... have no ATAC counts and cells 3, 10, 17, ... no RNA counts (cell 10: neither).
test::Trace train(Backend& b, const MultiviConfig& cfg, int64_t N) {
  MultiviModel model(cfg);
  model.allocate(b, 3);
  const int64_t G = cfg.n_genes, R = cfg.n_regions, C = G + R;
  std::vector<float> x(N * C);
  for (int64_t i = 0; i < N * C; ++i) x[i] = float((i * 7919) % 11 < 5 ? 0 : (i * 104729) % 9);
  for (int64_t n = 0; n < N; ++n) {
    x[n * C] += 1;
    x[n * C + G] += 1;
    if (n % 5 == 0)
      for (int64_t r = 0; r < R; ++r) x[n * C + G + r] = 0;
    if (n % 7 == 3)
      for (int64_t g = 0; g < G; ++g) x[n * C + g] = 0;
  }
  std::vector<int32_t> rows(N), batch(N, 0);
  std::iota(rows.begin(), rows.end(), 0);
  const Device dev = b.device();
  DeviceBuffer xb(b, x.size() * 4), rb(b, N * 4), bb(b, N * 4);
  b.upload(xb.data(), x.data(), x.size() * 4);
  b.upload(rb.data(), rows.data(), N * 4);
  b.upload(bb.data(), batch.data(), N * 4);
  MiniBatch mb;
  mb.n = N;
  mb.x = Tensor(xb.data(), DType::F32, dev, Shape{N, C});
  mb.rows = Tensor(rb.data(), DType::I32, dev, Shape{N});
  mb.batch = mb.labels = Tensor(bb.data(), DType::I32, dev, Shape{N});
  return test::record_steps(b, model, mb, AdamConfig::multivi(), kSteps, 0.7);
}

void compare_backends(const MultiviConfig& cfg, int64_t N) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  auto cpu = make_cpu_backend(11, 1);
  auto gpu = make_cuda_backend(11);
  const test::Trace a = train(*cpu, cfg, N);
  const test::Trace b = train(*gpu, cfg, N);
  auto tmp = make_cpu_backend(1, 1);
  MultiviModel layout(cfg);
  layout.allocate(*tmp, 3);
  test::compare_traces(a, b, layout.params());
}

TEST(MultiviCuda, JeffreysPenaltyMixedModalitiesMatchesCpu) { compare_backends(small("Jeffreys", "equal", 40), 40); }
TEST(MultiviCuda, MmdPenaltyCellWeightsMatchesCpu) { compare_backends(small("MMD", "cell", 40), 40); }

}  // namespace
}  // namespace cuvi::models
