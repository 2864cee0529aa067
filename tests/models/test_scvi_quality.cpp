// Quality of trained SCVI models against scvi-tools on the same data, split and epochs: held-out ELBO,
// latent k-NN label accuracy and batch mixing within the seed-to-seed spread of both tools
// (tests/fixtures/reference/scvi_quality_seeds.json, tools/fixtures/scvi_quality_seeds.py). On the
// real sets the held-out ELBO is what PCA of log-normalised counts cannot pass: its latent metrics are
// as good as scVI's there; the simulated set has a mixing threshold PCA fails (0.85 vs PCA's 0.52).
#include <gtest/gtest.h>

#include <cmath>

#include "tests/json_lite.h"
#include "tests/models/scvi_test_util.h"
#include "tools/workflow/metrics.h"

namespace cuvi::test {
namespace {

struct Scores {
  double knn = NAN, mixing = NAN;
};

Scores score(TrainedScvi& t) {
  workflow::ScviSession session(*t.backend, *t.model, t.data);
  const std::vector<float> z = session.latent(true, 0);
  const int64_t n = t.data.data.counts.n_rows, L = t.model->config().n_latent;
  Scores s;
  if (t.data.registry.label_categories.size() > 1) s.knn = workflow::knn_accuracy(z, n, L, t.data.cells.labels, 15);
  if (t.data.registry.batch_categories.size() > 1) s.mixing = workflow::batch_mixing(z, n, L, t.data.cells.batch, 50);
  return s;
}

// One metric of one run of the seeds reference: both tools' mean and sd over seeds, and PCA's value.
struct Spread {
  double scvi_mean, scvi_sd, cuvi_mean, cuvi_sd, pca;
  // 3 standard deviations of the difference of one cuvi run and scvi-tools' mean.
  double tolerance() const { return 3.0 * std::sqrt(scvi_sd * scvi_sd + cuvi_sd * cuvi_sd); }
};

class SeedsReference {
 public:
  explicit SeedsReference(const std::string& run) {
    const std::string text = read_text(source_dir() + "/tests/fixtures/reference/scvi_quality_seeds.json");
    m_run = json_object(json_object(text, "runs"), run);
  }
  bool ok() const { return !m_run.empty(); }
  Spread spread(const std::string& metric) const {
    const std::string s = json_object(json_object(m_run, "scvi_tools_summary"), metric);
    const std::string c = json_object(json_object(m_run, "cuvi_summary"), metric);
    return {json_number(s, "mean"), json_number(s, "sd"), json_number(c, "mean"), json_number(c, "sd"),
            json_number(json_object(m_run, "pca_baseline"), metric)};
  }
  std::vector<int32_t> validation_cells() const {
    std::vector<int32_t> v;
    for (double x : json_numbers(m_run, "validation_indices")) v.push_back(int32_t(x));
    return v;
  }
  int64_t number(const std::string& key) const { return int64_t(json_number(json_object(m_run, "settings"), key)); }

 private:
  std::string m_run;
};

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

// Trains cuvi (seed 0) on a run of the seeds reference with its split, epochs and warm-up; prints the scores.
struct RealRun {
  std::unique_ptr<TrainedScvi> trained;
  Scores scores;
  double heldout_elbo = NAN;  // mean over the validation cells of rec + kl (unweighted), last epoch
};

RealRun train_like_reference(const SeedsReference& ref, const std::string& path, const workflow::SetupKeys& keys) {
  TrainConfig tc;
  tc.max_epochs = ref.number("max_epochs");
  tc.n_epochs_kl_warmup = ref.number("n_epochs_kl_warmup");
  tc.validation_cells = ref.validation_cells();
  RealRun r;
  r.trained = train_scvi(workflow::prepare_data(path, keys), tc);
  r.scores = score(*r.trained);
  r.heldout_elbo = r.trained->result.history.at("elbo_validation").back();
  return r;
}

void report(const char* name, const char* metric, double value, const Spread& s) {
  std::printf("%s %s: cuvi %.4f; scvi-tools %.4f +- %.4f, cuvi seeds %.4f +- %.4f (tolerance %.4f); PCA %.4f\n", name,
              metric, value, s.scvi_mean, s.scvi_sd, s.cuvi_mean, s.cuvi_sd, s.tolerance(), s.pca);
}

// PBMC (Zheng 2017, sorted populations), 2140 cells x 8863 genes, 50 epochs with the default 400-epoch
// warm-up. PCA's k-NN accuracy equals scVI's here (both ~0.89-0.90), so accuracy alone cannot tell a
// model from PCA; the held-out ELBO can (PCA has no likelihood): it must sit within the seed spread.
TEST(ScviQuality, PbmcSortedHeldOutElboAndAccuracyMatchScviTools) {
  CUVI_DATA_FILE_OR_SKIP(path, "pbmc-zheng2017/pbmc_zheng2017_sorted_2140cells.h5ad");
  const SeedsReference ref("pbmc_zheng2017_sorted");
  ASSERT_TRUE(ref.ok()) << "tests/fixtures/reference/scvi_quality_seeds.json lacks pbmc_zheng2017_sorted";
  workflow::SetupKeys k;
  k.labels_key = "cell_type";
  const RealRun r = train_like_reference(ref, path, k);
  const Spread elbo = ref.spread("heldout_elbo"), knn = ref.spread("knn_accuracy_k15");
  report("pbmc-zheng2017", "heldout_elbo", r.heldout_elbo, elbo);
  report("pbmc-zheng2017", "knn_accuracy", r.scores.knn, knn);
  EXPECT_NEAR(r.heldout_elbo, elbo.scvi_mean, elbo.tolerance());
  EXPECT_GE(r.scores.knn, knn.scvi_mean - knn.tolerance());
}

// CellBench: 3 cell lines measured by CEL-seq2 and Drop-seq (batch = technology), 499 cells x 15073
// genes, 100 epochs with a 20-epoch warm-up. Neither tool mixes the two technologies in 100 epochs
// (scvi-tools seed 0: 0.018, below PCA's 0.040), so mixing is held to scvi-tools' own spread rather than
// to a PCA-rejecting threshold; the held-out ELBO is again the metric PCA cannot pass.
TEST(ScviQuality, CellbenchHeldOutElboAccuracyAndMixingMatchScviTools) {
  CUVI_DATA_FILE_OR_SKIP(path, "cellbench-mixology/cellbench_3cellline_celseq2_dropseq.h5ad");
  const SeedsReference ref("cellbench_3cellline");
  ASSERT_TRUE(ref.ok()) << "tests/fixtures/reference/scvi_quality_seeds.json lacks cellbench_3cellline";
  workflow::SetupKeys k;
  k.batch_key = "technology";
  k.labels_key = "cell_line_demuxlet";
  const RealRun r = train_like_reference(ref, path, k);
  const Spread elbo = ref.spread("heldout_elbo"), knn = ref.spread("knn_accuracy_k15"),
               mix = ref.spread("batch_mixing_k50");
  report("cellbench", "heldout_elbo", r.heldout_elbo, elbo);
  report("cellbench", "knn_accuracy", r.scores.knn, knn);
  report("cellbench", "batch_mixing", r.scores.mixing, mix);
  EXPECT_NEAR(r.heldout_elbo, elbo.scvi_mean, elbo.tolerance());
  EXPECT_GE(r.scores.knn, knn.scvi_mean - knn.tolerance());
  EXPECT_GE(r.scores.mixing, mix.scvi_mean - mix.tolerance());
}

}  // namespace
}  // namespace cuvi::test
