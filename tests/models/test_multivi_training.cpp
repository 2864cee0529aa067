// MULTIVI training through the engine's trainer (scvi-multivi.md §2.5, §4.2): both optimizers step (the
// classifier's weights move, one shared step per minibatch), the loss falls, runs are deterministic,
// one batch means no classifier, and a model trained on simulated multiome data with a fifth of the
// cells' ATAC hidden imputes their accessibility (AUROC above a cell-blind baseline) and its latent
// groups cell types.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/trainer.h"
#include "tools/workflow/metrics.h"
#include "tools/workflow/multiome_data.h"
#include "tools/workflow/multivi_session.h"
#include "tools/workflow/multivi_train.h"
#include "tools/workflow/simulate.h"

namespace cuvi::test {
namespace {

// Simulated multiome data registered for MULTIVI; `hide_atac` cells lose their ATAC row (RNA-only).
workflow::PreparedData simulated(int64_t cells, int64_t batches, const std::vector<int32_t>& hide_atac,
                                 io::CsrMatrix* hidden = nullptr, uint64_t seed = 0) {
  workflow::SimulationConfig c;
  c.n_cells = cells;
  c.n_genes = 60;
  c.n_peaks = 120;
  c.n_cell_types = 3;
  c.n_batches = batches;
  c.n_donors = std::max<int64_t>(batches, 2);
  c.seed = seed;
  workflow::SimulatedData s = workflow::simulate(c);
  std::vector<int64_t> keep(size_t(c.n_peaks));
  std::iota(keep.begin(), keep.end(), 0);
  if (hidden) {
    std::vector<int64_t> cols(keep.begin(), keep.end());
    *hidden = io::CsrMatrix{};
    hidden->n_cols = c.n_peaks;
    hidden->indptr.push_back(0);
    for (int32_t r : hide_atac) {
      for (int64_t k = s.atac.indptr[r]; k < s.atac.indptr[r + 1]; ++k) {
        hidden->indices.push_back(s.atac.indices[k]);
        hidden->data.push_back(s.atac.data[k]);
      }
      hidden->indptr.push_back(int64_t(hidden->data.size()));
      ++hidden->n_rows;
    }
  }
  // Zero the hidden cells' ATAC rows: they train as RNA-only cells.
  std::vector<bool> drop(size_t(cells), false);
  for (int32_t r : hide_atac) drop[size_t(r)] = true;
  io::CsrMatrix atac;
  atac.n_rows = cells;
  atac.n_cols = c.n_peaks;
  atac.indptr.push_back(0);
  for (int64_t i = 0; i < cells; ++i) {
    if (!drop[size_t(i)])
      for (int64_t k = s.atac.indptr[i]; k < s.atac.indptr[i + 1]; ++k) {
        atac.indices.push_back(s.atac.indices[k]);
        atac.data.push_back(s.atac.data[k]);
      }
    atac.indptr.push_back(int64_t(atac.data.size()));
  }
  io::Dataset d;
  d.path = "simulated";
  d.counts = workflow::hstack(s.counts, atac);
  d.obs = s.obs;
  d.var.index = s.var.index;
  d.var.index.insert(d.var.index.end(), s.peak_names.begin(), s.peak_names.end());
  workflow::SetupKeys k;
  k.multiome.enabled = true;
  if (batches > 1) k.batch_key = "batch";
  workflow::PreparedData p = workflow::register_dataset(std::move(d), k);
  p.registry.genes = s.var.index;
  p.registry.regions = s.peak_names;
  return p;
}

TrainConfig quick(int64_t epochs) {
  TrainConfig tc = models::multivi_train_config();
  tc.max_epochs = epochs;
  tc.early_stopping = false;
  tc.progress = false;
  return tc;
}

TEST(MultiviTraining, BothOptimizersStepAndTheLossFalls) {
  auto backend = make_cpu_backend(0, 1);
  workflow::PreparedData data = simulated(300, 2, {});
  auto model = workflow::new_multivi_model(data, models::MultiviConfig{}, *backend, 0);
  ASSERT_TRUE(model->has_classifier());
  const ParamStore& ps = model->params();
  const int clf = ps.find("adversarial_classifier.classifier.1.weight");
  const int enc = ps.find("z_encoder_accessibility.encoder.fc_layers.Layer 0.0.weight");
  ASSERT_GE(clf, 0);
  const std::vector<float> clf0 = ps.get(clf), enc0 = ps.get(enc);
  TrainConfig tc = quick(6);
  tc.optimizer.lr = 1e-3;
  const TrainResult r = workflow::train_multivi(*model, data, *backend, tc);
  const auto& h = r.history;
  ASSERT_EQ(h.at("train_loss_epoch").size(), 6u);
  EXPECT_LT(h.at("reconstruction_loss_train").back(), h.at("reconstruction_loss_train").front());
  ASSERT_TRUE(h.count("reconstruction_loss_validation"));
  EXPECT_NE(ps.get(clf), clf0) << "the classifier's own optimizer must update it";
  EXPECT_NE(ps.get(enc), enc0);
  // One shared step per minibatch: ceil(n_train / 128) per epoch.
  const int64_t per_epoch = (int64_t(r.split.train.size()) + 127) / 128;
  EXPECT_EQ(backend->read_scalars().step, 6 * per_epoch);
}

TEST(MultiviTraining, SameSeedSameModelAndNoClassifierForOneBatch) {
  std::vector<std::vector<float>> finals;
  for (int run = 0; run < 2; ++run) {
    auto backend = make_cpu_backend(0, 1);
    workflow::PreparedData data = simulated(150, 1, {});
    auto model = workflow::new_multivi_model(data, models::MultiviConfig{}, *backend, 7);
    EXPECT_FALSE(model->has_classifier());
    EXPECT_LT(model->params().find("adversarial_classifier.classifier.1.weight"), 0);
    workflow::train_multivi(*model, data, *backend, quick(2));
    finals.push_back(model->params().get(model->params().find("z_decoder_accessibility.output.0.weight")));
  }
  EXPECT_EQ(finals[0], finals[1]);
}

double auroc(const std::vector<float>& score, const std::vector<bool>& truth) {
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  double rank_sum = 0, n1 = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    const double avg = 0.5 * double(i + j + 1);
    for (size_t k = i; k < j; ++k)
      if (truth[order[k]]) rank_sum += avg, n1 += 1;
    i = j;
  }
  const double n0 = double(score.size()) - n1;
  return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0);
}

TEST(MultiviTraining, ImputesHiddenAccessibilityAndGroupsCellTypes) {
  auto backend = make_cpu_backend(0, 1);
  std::vector<int32_t> hide;
  for (int32_t i = 0; i < 600; i += 5) hide.push_back(i);  // every fifth cell is RNA-only
  io::CsrMatrix truth_m;
  workflow::PreparedData data = simulated(600, 2, hide, &truth_m, 3);
  models::MultiviConfig cfg;
  cfg.n_hidden = 32;  // scvi-tools' rule gives 10 for 120 regions; real data (25k+ regions) gets 128
  cfg.n_latent = 8;
  auto model = workflow::new_multivi_model(data, cfg, *backend, 0);
  TrainConfig tc = quick(60);
  tc.optimizer.lr = 2e-3;  // few cells: a larger step than MULTIVI's 1e-4 reaches a fit in 40 epochs
  workflow::train_multivi(*model, data, *backend, tc);
  workflow::MultiviSession session(*backend, *model, data, 128);
  const std::vector<float> p = session.accessibility(workflow::AccessibilityOptions{}, 0, hide);
  const int64_t R = model->config().n_regions;
  std::vector<bool> truth(size_t(int64_t(hide.size()) * R), false);
  for (int64_t i = 0; i < truth_m.n_rows; ++i)
    for (int64_t k = truth_m.indptr[i]; k < truth_m.indptr[i + 1]; ++k) truth[size_t(i * R + truth_m.indices[k])] = true;
  // The simulator opens a cell type's own peaks several times more often: an imputation that knows the
  // cell type from its RNA ranks them first. Chance is 0.5.
  // Baseline that ignores the cell: each region's open rate over the training cells with ATAC.
  std::vector<double> rate(size_t(R), 0.0);
  const io::CsrMatrix& m = data.data.counts;
  const int64_t G = model->config().n_genes;
  for (int64_t i = 0; i < m.n_rows; ++i)
    for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k)
      if (m.indices[k] >= G) rate[size_t(m.indices[k] - G)] += 1;
  std::vector<float> base(p.size());
  for (size_t i = 0; i < base.size(); ++i) base[i] = float(rate[i % size_t(R)]);
  // Reference that knows each cell's true type: the region's open rate among training cells of that type.
  const io::Column& type = *data.data.obs.find("cell_type");
  std::vector<std::vector<double>> type_rate(type.cat.categories.size(), std::vector<double>(size_t(R), 0.0));
  for (int64_t i = 0; i < m.n_rows; ++i)
    for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k)
      if (m.indices[k] >= G) type_rate[size_t(type.cat.codes[size_t(i)])][size_t(m.indices[k] - G)] += 1;
  std::vector<float> known(p.size());
  for (size_t i = 0; i < known.size(); ++i)
    known[i] = float(type_rate[size_t(type.cat.codes[size_t(hide[i / size_t(R)])])][i % size_t(R)]);
  const double a_model = auroc(p, truth), a_base = auroc(base, truth), a_known = auroc(known, truth);
  std::printf("imputation AUROC %.4f, region-rate baseline %.4f, known-type reference %.4f\n", a_model, a_base, a_known);
  // The imputation must use what the RNA says about the cell: a quarter of the way from the cell-blind
  // baseline to the known-type reference at least (this run: about half; 0.72 vs 0.68 and 0.77).
  EXPECT_GT(a_model, a_base + 0.25 * (a_known - a_base));
  const std::vector<float> z = session.latent("joint", true, 0);
  std::vector<int32_t> labels(type.cat.codes.begin(), type.cat.codes.end());
  const double knn = workflow::knn_accuracy(z, 600, model->config().n_latent, labels);
  std::printf("kNN accuracy %.4f\n", knn);
  EXPECT_GT(knn, 0.6);  // 3 cell types, weak simulated markers: chance is 1/3, this run 0.77
}

}  // namespace
}  // namespace cuvi::test
