// Quality of trained SCVI models: held-out ELBO improves, latent k-NN label accuracy and batch mixing
// reach thresholds set from scvi-tools on the same data and epochs (tests/fixtures/reference/
// scvi_quality.json, tools/fixtures/README.md and the simulated-data runs recorded below).
#include <gtest/gtest.h>

#include "tests/models/scvi_test_util.h"
#include "tools/workflow/metrics.h"

namespace cuvi::test {
namespace {

struct Scores {
  double knn, mixing;
};

Scores score(TrainedScvi& t) {
  workflow::ScviSession session(*t.backend, *t.model, t.data);
  const std::vector<float> z = session.latent(true, 0);
  const int64_t n = t.data.data.counts.n_rows, L = t.model->config().n_latent;
  Scores s{workflow::knn_accuracy(z, n, L, t.data.cells.labels, 15), 0};
  if (t.data.registry.batch_categories.size() > 1) s.mixing = workflow::batch_mixing(z, n, L, t.data.cells.batch, 50);
  return s;
}

TEST(ScviQuality, SimulatedCellTypesSeparateAndBatchesMix) {
  workflow::SimulationConfig c;
  c.n_cells = 1500;
  c.n_genes = 400;
  c.seed = 11;
  const std::string path = temp_path("quality_sim.h5ad");
  TrainConfig tc;
  tc.max_epochs = 60;
  tc.n_epochs_kl_warmup = 20;
  auto t = train_scvi(simulated(c, path), tc);
  std::filesystem::remove(path);
  const auto& val = t->result.history.at("elbo_validation");
  EXPECT_LT(val.back(), val.front() * 0.9) << "held-out ELBO did not improve";
  const Scores s = score(*t);
  std::printf("simulated: knn_accuracy %.3f batch_mixing %.3f, elbo_validation %.2f -> %.2f\n", s.knn, s.mixing,
              val.front(), val.back());
  EXPECT_GT(s.knn, 0.99);
  // Same file and settings in scvi-tools 1.4.2 (seed 0): knn 1.000, mixing 0.947 (seeds 0-2 on the
  // previous simulator: 0.917-0.965); PCA of log-normalized counts mixes 0.524. cuvi reaches 0.961 here
  // (0.879-0.948 over three seeds before): 0.85 fails a model that does not remove the batch effect.
  EXPECT_GT(s.mixing, 0.85);
}

TEST(ScviQuality, PbmcSortedMatchesScviToolsAccuracy) {
  const std::string path = shared_data("pbmc-zheng2017/pbmc_zheng2017_sorted_2140cells.h5ad");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "../shared/data is absent: " << path;
  workflow::SetupKeys k;
  k.labels_key = "cell_type";
  TrainConfig tc;
  tc.max_epochs = 50;
  auto t = train_scvi(workflow::prepare_data(path, k), tc);
  const Scores s = score(*t);
  const auto& val = t->result.history.at("elbo_validation");
  std::printf("pbmc-zheng2017 sorted, 50 epochs: knn_accuracy %.4f, elbo_validation %.2f -> %.2f\n", s.knn,
              val.front(), val.back());
  EXPECT_LT(val.back(), val.front());
  // scvi-tools 1.4.2 with the same settings (seed 0, 50 epochs, defaults): 0.8860.
  EXPECT_GE(s.knn, 0.8860);
}

// CellBench mixology: 3 cell lines measured with two technologies (CEL-seq2, Drop-seq), 499 cells x
// 15073 genes, batch = technology. scvi-tools 1.4.2, seed 0, 100 epochs, defaults: k-NN accuracy 0.9900,
// batch mixing 0.0034 (PCA: 0.9900, 0.040). With the default 400-epoch KL warm-up the KL weight is still
// below 0.25 after 100 epochs, so neither model mixes the technologies much yet; cuvi must reach what
// scvi-tools reaches: accuracy within two cells' worth of 0.990 (seed-to-seed spread), mixing at least its 0.0034.
TEST(ScviQuality, CellbenchMatchesScviTools) {
  const std::string path = shared_data("cellbench-mixology/cellbench_3cellline_celseq2_dropseq.h5ad");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "../shared/data is absent: " << path;
  workflow::SetupKeys k;
  k.batch_key = "technology";
  k.labels_key = "cell_line_demuxlet";
  TrainConfig tc;
  tc.max_epochs = 100;
  auto t = train_scvi(workflow::prepare_data(path, k), tc);
  const Scores s = score(*t);
  const auto& val = t->result.history.at("elbo_validation");
  std::printf("cellbench 3 cell lines, 100 epochs: knn_accuracy %.4f batch_mixing %.4f, elbo_validation %.2f -> %.2f\n",
              s.knn, s.mixing, val.front(), val.back());
  EXPECT_LT(val.back(), val.front());
  EXPECT_GE(s.knn, 0.9900 - 2.0 / 499);
  EXPECT_GE(s.mixing, 0.0034);
}

}  // namespace
}  // namespace cuvi::test
