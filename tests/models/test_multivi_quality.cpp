// MULTIVI on real paired multiome data against scvi-tools (tests/fixtures/reference/multivi_snareseq.json,
// tools/fixtures/multivi_quality_reference.py): SNARE-seq mouse cortex, every 5th cell (2,062 cells x 1,677
// genes + 25,734 peaks, 12 batches), every default, 5 epochs on the reference's split. The latent's cell-type
// k-NN accuracy and batch mixing and the held-out reconstruction of each modality must be those of
// scvi-tools at the same epochs: within 3 standard deviations of its seed spread (at least 0.02 or 2%).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "tests/json_lite.h"
#include "tests/test_env.h"
#include "tools/workflow/metrics.h"
#include "tools/workflow/multiome_data.h"
#include "tools/workflow/multivi_fit.h"
#include "tools/workflow/multivi_session.h"
#include "tools/workflow/multivi_train.h"
#include "tools/workflow/subset.h"

namespace cuvi::test {
namespace {

struct Range {
  double mean = 0, sd = 0;
  double tolerance(double floor) const { return std::max(3.0 * sd, floor); }
};

Range spread(const std::string& ref, const std::string& key) {
  const std::vector<double> v = json_numbers(json_object(ref, "scvi_tools"), key);
  Range r;
  for (double x : v) r.mean += x / double(v.size());
  for (double x : v) r.sd += (x - r.mean) * (x - r.mean) / double(std::max<size_t>(1, v.size() - 1));
  r.sd = std::sqrt(r.sd);
  return r;
}

TEST(MultiviQuality, SnareSeqSubsetMatchesScviToolsAtFiveEpochs) {
  CUVI_DATA_FILE_OR_SKIP(path, "multiome-snareseq-mouse-cortex/snareseq_mouse_cortex_10309cells.h5mu");
  const std::string ref = read_text(source_dir() + "/tests/fixtures/reference/multivi_snareseq.json");
  ASSERT_FALSE(json_object(ref, "scvi_tools").empty()) << "tests/fixtures/reference/multivi_snareseq.json is missing";
  workflow::SetupKeys keys;
  keys.batch_key = "batch";
  keys.multiome.enabled = true;
  workflow::MultiomeData md = workflow::load_multiome(path, keys, false);
  std::vector<int32_t> cells;
  for (int32_t i = 0; i < int32_t(md.data.counts.n_rows); i += 5) cells.push_back(i);
  workflow::PreparedData data = workflow::register_dataset(workflow::take_rows(md.data, cells), keys);
  data.registry.genes = md.genes;
  data.registry.regions = md.regions;

  auto backend = make_cpu_backend(0, 1);
  auto model = workflow::new_multivi_model(data, models::MultiviConfig{}, *backend, 0);
  TrainConfig tc = models::multivi_train_config();
  tc.max_epochs = int64_t(json_number(ref, "epochs"));
  tc.progress = false;
  std::vector<int32_t> val;
  for (int32_t i = 0; i < int32_t(cells.size()); i += 10) val.push_back(i);
  tc.validation_cells = val;
  workflow::train_multivi(*model, data, *backend, tc);

  workflow::MultiviSession session(*backend, *model, data, 128);
  const int64_t n = int64_t(cells.size()), L = model->config().n_latent;
  const std::vector<float> z = session.latent("joint", true, 0);
  const io::Column& type = data.data.obs.require("cell_type", path);
  const std::vector<int32_t> labels(type.cat.codes.begin(), type.cat.codes.end());
  const double knn = workflow::knn_accuracy(z, n, L, labels);
  const double mixing = workflow::batch_mixing(z, n, L, data.cells.batch);
  const workflow::MultiviFit fit = workflow::evaluate_multivi_fit(session, 0);
  double rec_e = 0, rec_a = 0;
  for (int32_t i : val) {
    rec_e += fit.reconstruction_expression[size_t(i)] / double(val.size());
    rec_a += fit.reconstruction_accessibility[size_t(i)] / double(val.size());
  }
  const Range r_knn = spread(ref, "knn_accuracy"), r_mix = spread(ref, "batch_mixing"),
              r_e = spread(ref, "heldout_rec_expression"), r_a = spread(ref, "heldout_rec_accessibility");
  std::printf("cuvi: knn %.4f mixing %.4f rec_expression %.2f rec_accessibility %.2f\n", knn, mixing, rec_e, rec_a);
  std::printf("scvi-tools: knn %.4f +- %.4f mixing %.4f +- %.4f rec_expression %.2f +- %.2f rec_accessibility %.2f +- %.2f\n",
              r_knn.mean, r_knn.sd, r_mix.mean, r_mix.sd, r_e.mean, r_e.sd, r_a.mean, r_a.sd);
  EXPECT_GE(knn, r_knn.mean - r_knn.tolerance(0.02));
  EXPECT_GE(mixing, r_mix.mean - r_mix.tolerance(0.02));
  EXPECT_NEAR(rec_e, r_e.mean, r_e.tolerance(0.02 * r_e.mean));
  EXPECT_NEAR(rec_a, r_a.mean, r_a.tolerance(0.02 * r_a.mean));
}

}  // namespace
}  // namespace cuvi::test
