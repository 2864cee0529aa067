// The default training steps of MULTIVI, MRVI, AmbientRegularizedSCVI and RegularizedMultimodalVI captured as
// CUDA graphs (label gpu: the CUDA emulator here, a real device where there is one): each step's node count is its
// launch budget (DESIGN.md decisions 2 and 4; issue 13, as tests/models/test_scvi_step_graph_cuda.cpp for SCVI).
// CUVI_EMU_PRINT_GRAPH=1 lists the nodes on the emulator.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "engine/trainer.h"
#include "models/mrvi/mrvi_model.h"
#include "models/multivi/multivi_model.h"
#include "models/regularized_vi/regvi_model.h"
#include "tests/models/synthetic_counts.h"

namespace cuvi::models {
namespace {

// Node budgets, each the measured count of its default step (CUVI_EMU_PRINT_GRAPH=1 lists the nodes). Each step ends
// its forward in one elbo_mean (loss, reconstruction_loss, kl_local) and one accumulate_sums (the trainer's metric and
// loss sums), starts its backward with one elbo_mean backward and ends with one Adam; before elbo_mean took masks and a
// second likelihood the counts were 185, 326, 264 and 534.
//
// MULTIVI, 164: gather; the modality slices, their sums and masks (6); the four encoders (28); the modality mix (11);
// rsample and its noise (2); the two decoders, px_rate and theta (12); accessibility BCE, ZINB, KL_z (3); the Jeffreys
// pair penalty (paired mask, two sqrt, two kl_normal, add, mul: 7); elbo_mean; the metric sums; elbo_mean backward;
// the rest of the backward (90); Adam. By kind: 42 SGEMMs, 36 FC epilogue kernels, 13 column copies, 18 unary.
constexpr size_t kMaxMultiviNodes = 164;
// MRVI, 318: forward 130 (87 SGEMMs and 54 layer-norm kernels over the whole step: the u encoder and the attention
// blocks' MLPs; the two fused attention blocks; NB likelihood, mixture prior, p(eps), kl_local = kl_u - log p(eps) as
// one sub); elbo_mean; the metric sums; elbo_mean backward; the rest of the backward (182); gradient-norm clip (2) and
// Adam.
constexpr size_t kMaxMrviNodes = 318;
// AmbientRegularizedSCVI, 253: the per-cell forward to the likelihood and the two KLs (76); elbo_mean; the global priors
// (dispersion KL and hyper prior, feature scaling, decoder L2) and loss = elbo + global / N (44 small scale / add /
// sum_all / unary kernels); the metric sums; their backward (56); elbo_mean backward; the per-cell backward (73); Adam.
constexpr size_t kMaxAmbientRegviNodes = 253;
// RegularizedMultimodalVI (atac + rna, concatenation), 514: the per-cell forward of both modalities with their masks and
// the masked KL_z and KL_l sums (160); one elbo_mean for both masked reconstructions; both modalities' global priors and
// the loss tail (84); the metric sums; their backward (110); elbo_mean backward; the per-cell backward (156); Adam.
constexpr size_t kMaxMultimodalRegviNodes = 514;

TrainConfig one_epoch() {
  TrainConfig tc;
  tc.max_epochs = 1;
  tc.batch_size = 128;
  tc.train_size = 1.0;
  tc.seed = 3;
  tc.progress = false;
  return tc;
}

// One epoch of three full minibatches: step 1 eager (warm-up), step 2 captured, steps 2 and 3 replayed.
void expect_budget(Backend& b, TrainableModel& model, DeviceDataset& ds, TrainConfig tc, const std::string& what,
                   size_t budget) {
  Trainer trainer(b, model, ds, tc);
  const TrainResult r = trainer.fit();
  ASSERT_EQ(r.graphs.captured, 1) << r.graphs.disabled_reason;
  EXPECT_EQ(r.graphs.replayed, 2);
  std::printf("[          ] default %s training step: %zu graph nodes (budget %zu)\n", what.c_str(), r.graphs.nodes,
              budget);
  EXPECT_LE(r.graphs.nodes, budget);
}

// MULTIVI with scvi-tools' defaults (one batch, so no adversarial classifier; ZINB, Jeffreys penalty, equal
// modality weights): 100 genes and 400 regions (n_hidden = sqrt(R) = 20, n_latent 4), every cell paired.
TEST(ModelStepGraphCuda, MultiviDefaultStepFitsTheNodeBudget) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t G = 100, R = 400, cells = 3 * 128;
  const test::SyntheticCounts c(cells, G + R);
  auto b = make_cuda_backend(7);
  MultiviConfig cfg;
  cfg.n_genes = G;
  cfg.n_regions = R;
  cfg.n_obs = cells;
  cfg.resolve();
  MultiviModel model(cfg);
  model.allocate(*b, 7);
  const CellTable table = test::synthetic_cells(model.module().layout(), cells, cfg.n_batch);
  DeviceDataset ds(*b, c.view(), table);
  TrainConfig tc = one_epoch();
  tc.optimizer = AdamConfig::multivi();
  expect_budget(*b, model, ds, tc, "MULTIVI (G 100, R 400, B 128, ZINB, Jeffreys)", kMaxMultiviNodes);
}

// MRVI with its defaults (30 + 10 latent, 128 hidden encoder, attention blocks, mixture u prior), 4 samples,
// 2 batches, 3 labels, 100 genes.
TEST(ModelStepGraphCuda, MrviDefaultStepFitsTheNodeBudget) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t G = 100, cells = 3 * 128;
  const test::SyntheticCounts c(cells, G);
  auto b = make_cuda_backend(7);
  MrviConfig cfg;
  cfg.n_genes = G;
  cfg.n_sample = 4;
  cfg.n_batch = 2;
  cfg.n_labels = 3;
  MrviModel model(cfg);
  model.allocate(*b, 7);
  CellTable table;
  table.n_codes = 1;
  for (int64_t r = 0; r < cells; ++r) {
    table.codes.push_back(int32_t(r % cfg.n_sample));
    table.batch.push_back(int32_t(r % cfg.n_sample % cfg.n_batch));
    table.labels.push_back(int32_t(r % cfg.n_labels));
  }
  model.set_n_obs_per_sample(std::vector<float>(size_t(cfg.n_sample), float(cells / cfg.n_sample)));
  DeviceDataset ds(*b, c.view(), table);
  TrainConfig tc = mrvi_train_config();
  const TrainConfig one = one_epoch();
  tc.max_epochs = one.max_epochs;
  tc.batch_size = one.batch_size;
  tc.train_size = one.train_size;
  tc.seed = one.seed;
  tc.progress = false;
  expect_budget(*b, model, ds, tc, "MRVI (G 100, B 128, 4 samples)", kMaxMrviNodes);
}

// RegularizedVI with the model classes' defaults (128 hidden, 10 latent, gene-batch dispersion, additive
// background, feature scaling, learned library with its residual encoder) and a few categorical covariates.
RegviConfig regvi_config(bool multimodal, int64_t G) {
  RegviConfig c = RegviConfig::single_modal(G);
  c.n_cats_ambient = {2, 3};
  c.n_cats_nn = {3};
  c.n_cats_scaling = {2};
  c.n_dispersion_cats = 3;
  c.n_library_cats = 2;
  if (multimodal) {
    c.multimodal = true;
    c.modalities[0].name = "atac";
    c.modalities[0].n_features = G / 2;
    c.modalities[0].dispersion = "region-batch";
    RegviModality rna = c.modalities[0];
    rna.name = "rna";
    rna.n_features = G - G / 2;
    rna.dispersion = "gene-batch";
    c.modalities.push_back(rna);
  }
  return c;
}

void regvi_step(bool multimodal, size_t budget) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t G = 400, cells = 3 * 128;
  const test::SyntheticCounts c(cells, G);
  auto b = make_cuda_backend(7);
  const RegviConfig cfg = regvi_config(multimodal, G);
  RegviModel model(cfg);
  model.allocate(*b, 7);
  RegviCells rc;
  rc.n_cells = cells;
  for (int64_t n = 0; n < cells; ++n) {
    rc.ambient.insert(rc.ambient.end(), {int32_t(n % 2), int32_t(n % 3)});
    rc.nn.push_back(int32_t(n % 3));
    rc.scaling.push_back(int32_t(n % 2));
    rc.dispersion.push_back(int32_t(n % 3));
    rc.library.push_back(int32_t(n % 2));
  }
  model.set_cells(rc);
  model.set_n_obs(cells);
  CellTable table;
  table.batch.assign(size_t(cells), 0);
  table.labels.assign(size_t(cells), 0);
  DeviceDataset ds(*b, c.view(), table);
  expect_budget(*b, model, ds, one_epoch(),
                multimodal ? "RegularizedMultimodalVI (atac 200 + rna 200, B 128, concatenation)"
                           : "AmbientRegularizedSCVI (G 400, B 128)",
                budget);
}

TEST(ModelStepGraphCuda, AmbientRegularizedScviDefaultStepFitsTheNodeBudget) {
  regvi_step(false, kMaxAmbientRegviNodes);
}
TEST(ModelStepGraphCuda, RegularizedMultimodalViDefaultStepFitsTheNodeBudget) {
  regvi_step(true, kMaxMultimodalRegviNodes);
}

}  // namespace
}  // namespace cuvi::models
