// RegularizedVI on the CUDA backend (label gpu): same seed, data and Philox draws as the CPU backend, so
// the first step's loss and gradients, the next steps' losses and short Trainer runs agree within f32
// rounding (the per-cell purpose codes gathered on the device by the minibatch's rows).
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "engine/trainer.h"
#include "models/regularized_vi/regvi_model.h"
#include "tests/models/backend_trace.h"
#include "tests/models/synthetic_counts.h"

namespace cuvi::models {
namespace {

constexpr int kSteps = 4;

RegviConfig config(bool multimodal, int64_t G) {
  RegviConfig c = RegviConfig::single_modal(G);
  c.modalities[0].n_hidden = 16;
  c.modalities[0].n_latent = 4;
  c.n_cats_ambient = {2, 3};
  c.n_cats_nn = {3};
  c.n_cats_scaling = {2};
  c.n_dispersion_cats = 3;
  c.n_library_cats = 2;
  if (multimodal) {
    c.multimodal = true;
    c.modalities[0].name = "atac";
    c.modalities[0].n_features = G / 2;
    RegviModality rna = c.modalities[0];
    rna.name = "rna";
    rna.n_features = G - G / 2;
    rna.n_hidden = 12;
    c.modalities.push_back(rna);
    c.latent_mode = "weighted_mean";
    c.modality_weights = "cell";
  }
  return c;
}

RegviCells cells_for(const RegviConfig& c, int64_t R) {
  RegviCells cells;
  cells.n_cells = R;
  for (int64_t n = 0; n < R; ++n) {
    cells.ambient.insert(cells.ambient.end(), {int32_t(n % 2), int32_t(n % 3)});
    cells.nn.push_back(int32_t(n % 3));
    cells.scaling.push_back(int32_t(n % 2));
    cells.dispersion.push_back(int32_t(n % 3));
    cells.library.push_back(int32_t(n % 2));
  }
  (void)c;
  return cells;
}

test::Trace train(Backend& b, const RegviConfig& cfg, int64_t N, int64_t G) {
  RegviModel model(cfg);
  model.allocate(b, 3);
  model.set_cells(cells_for(cfg, N));
  model.set_n_obs(500);
  std::vector<float> x(N * G);
  for (int64_t i = 0; i < N * G; ++i) x[i] = float((i * 7919) % 11 < 5 ? 0 : (i * 104729) % 9);
  for (int64_t i = 0; i < N; ++i) x[i * G] += 1;
  std::vector<int32_t> rows(N);
  std::iota(rows.begin(), rows.end(), 0);
  DeviceBuffer xb(b, x.size() * 4), rb(b, rows.size() * 4);
  b.upload(xb.data(), x.data(), x.size() * 4);
  b.upload(rb.data(), rows.data(), rows.size() * 4);
  MiniBatch mb;
  mb.n = N;
  mb.x = Tensor(xb.data(), DType::F32, b.device(), Shape{N, G});
  mb.rows = Tensor(rb.data(), DType::I32, b.device(), Shape{N});
  mb.batch = mb.labels = mb.rows;
  return test::record_steps(b, model, mb, AdamConfig::scvi(), kSteps, 0.7);
}

void compare_backends(bool multimodal, int64_t N = 40, int64_t G = 53) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const RegviConfig cfg = config(multimodal, G);
  auto cpu = make_cpu_backend(11, 1);
  auto gpu = make_cuda_backend(11);
  const test::Trace a = train(*cpu, cfg, N, G);
  const test::Trace b = train(*gpu, cfg, N, G);
  auto tmp = make_cpu_backend(1, 1);
  RegviModel layout(cfg);
  layout.allocate(*tmp, 3);
  test::compare_traces(a, b, layout.params());
}

TEST(RegviCuda, AmbientRegularizedScviStepsMatchCpu) { compare_backends(false); }
TEST(RegviCuda, MultimodalWeightedMeanStepsMatchCpu) { compare_backends(true); }

// The Trainer end to end on both backends (device loader, captured step graphs on CUDA, KL warm-up,
// validation in eval mode with N of the training split).
TEST(RegviCuda, TrainerEpochsMatchCpu) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t R = 100, G = 40;
  const test::SyntheticCounts counts(R, G);
  std::map<std::string, std::vector<double>> history[2];
  for (int dev = 0; dev < 2; ++dev) {
    auto b = dev ? make_cuda_backend(5) : make_cpu_backend(5, 1);
    const RegviConfig cfg = config(false, G);
    RegviModel model(cfg);
    model.allocate(*b, 5);
    model.set_cells(cells_for(cfg, R));
    model.set_n_obs(90);
    CellTable cells;
    cells.batch.assign(R, 0);
    cells.labels.assign(R, 0);
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
