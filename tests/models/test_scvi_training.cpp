// Trainer behaviour with scvi-tools' rules (scvi-multivi.md §4.1): deterministic for a seed, the
// straggler rule of the default split, BatchNorm's refusal of one-cell minibatches, early stopping
// with restore of the best weights, and model files that reload to the same outputs.
#include <gtest/gtest.h>

#include "tests/models/scvi_test_util.h"
#include "tools/workflow/scvi_file.h"

namespace cuvi::test {
namespace {

workflow::SimulationConfig small_sim(int64_t cells, uint64_t seed = 3) {
  workflow::SimulationConfig c;
  c.n_cells = cells;
  c.n_genes = 60;
  c.n_cell_types = 3;
  c.seed = seed;
  return c;
}

models::ScviConfig small_model() {
  models::ScviConfig m;
  m.n_hidden = 16;
  m.n_latent = 4;
  return m;
}

TEST(ScviTraining, SameSeedGivesIdenticalRuns) {
  const std::string path = temp_path("det.h5ad");
  TrainConfig tc;
  tc.max_epochs = 3;
  tc.seed = 5;
  auto a = train_scvi(simulated(small_sim(300), path), tc, small_model());
  auto b = train_scvi(simulated(small_sim(300), path), tc, small_model());
  tc.seed = 6;
  auto c = train_scvi(simulated(small_sim(300), path), tc, small_model());
  std::filesystem::remove(path);
  // Bitwise on purpose: the same seed, data and code path must reproduce the run exactly.
  EXPECT_EQ(a->result.history.at("elbo_train"), b->result.history.at("elbo_train"));
  EXPECT_EQ(a->result.split.validation, b->result.split.validation);
  const ParamStore& pa = a->model->params();
  const ParamStore& pb = b->model->params();
  for (size_t id = 0; id < pa.entries().size(); ++id) EXPECT_EQ(pa.get(int(id)), pb.get(int(id))) << pa.entry(id).name;
  EXPECT_NE(a->result.history.at("elbo_train"), c->result.history.at("elbo_train")) << "the seed has no effect";
}

TEST(ScviTraining, DefaultSplitMovesStragglersAndExplicitSplitRefusesOneCellBatch) {
  // 143 cells: ceil(0.9 * 143) = 129 = 128 + 1, so the default rule moves one cell to validation.
  const DataSplit s = split_data(143, 0, 128, 0);
  EXPECT_EQ(s.train.size(), 128u);
  EXPECT_EQ(s.validation.size(), 15u);
  const DataSplit t = split_data(143, 0.9, 128, 0);  // explicit train_size: no adjustment
  EXPECT_EQ(t.train.size(), 129u);
  // Training on 129 cells with train_size 1.0 leaves a last minibatch of one cell: BatchNorm refuses.
  const std::string path = temp_path("straggler.h5ad");
  TrainConfig tc;
  tc.max_epochs = 1;
  tc.train_size = 1.0;
  tc.check_val_every_epoch = false;
  try {
    train_scvi(simulated(small_sim(129), path), tc, small_model());
    ADD_FAILURE() << "a one-cell training minibatch must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batchnorm"), std::string::npos) << e.what();
  }
  tc.train_size = 0;  // the default rule makes the same data trainable
  EXPECT_NO_THROW(train_scvi(simulated(small_sim(129), path), tc, small_model()));
  std::filesystem::remove(path);
}

TEST(ScviTraining, MaxEpochsHeuristicAndKlWarmupFollowScviTools) {
  EXPECT_EQ(default_max_epochs(400), 400);
  EXPECT_EQ(default_max_epochs(100000), 80);
  EXPECT_EQ(default_max_epochs(32000), 250);     // round(250.0)
  EXPECT_EQ(default_max_epochs(64000), 125);     // round(125.0)
  EXPECT_EQ(default_max_epochs(3200000), 2);     // round(2.5) = 2 (half to even)
  EXPECT_EQ(default_max_epochs(100000000), 1);   // floored at 1
  TrainConfig c;
  EXPECT_DOUBLE_EQ(kl_weight_for(c, 0, 0), 0.0);
  EXPECT_DOUBLE_EQ(kl_weight_for(c, 200, 0), 0.5);
  EXPECT_DOUBLE_EQ(kl_weight_for(c, 400, 0), 1.0);
  c.min_kl_weight = 0.5;
  EXPECT_DOUBLE_EQ(kl_weight_for(c, 200, 0), 0.75);
  c.n_epochs_kl_warmup = 0;
  c.n_steps_kl_warmup = 10;
  c.min_kl_weight = 0;
  EXPECT_DOUBLE_EQ(kl_weight_for(c, 7, 5), 0.5);
  c.min_kl_weight = 2;
  EXPECT_THROW(kl_weight_for(c, 0, 0), Error);
}

TEST(ScviTraining, EarlyStoppingStopsAndRestoresTheBestWeights) {
  const std::string path = temp_path("es.h5ad");
  TrainConfig tc;
  tc.max_epochs = 60;
  tc.early_stopping = true;
  tc.early_stopping_patience = 3;
  tc.optimizer.lr = 0;  // nothing improves beyond noise: scvi-tools' own early-stopping test
  auto t = train_scvi(simulated(small_sim(300), path), tc, small_model());
  std::filesystem::remove(path);
  EXPECT_LT(t->result.epochs_run, 60);
  EXPECT_GE(t->result.best_epoch, 0);
  const auto& v = t->result.history.at("elbo_validation");
  EXPECT_EQ(int64_t(v.size()), t->result.epochs_run);
  for (double x : v) EXPECT_GE(x, v[t->result.best_epoch]);
}

TEST(ScviTraining, ModelFileReloadsToTheSameLatentAndRejectsOtherGenes) {
  const std::string path = temp_path("save.h5ad"), model_path = temp_path("save.cuvi");
  TrainConfig tc;
  tc.max_epochs = 2;
  auto t = train_scvi(simulated(small_sim(200), path), tc, small_model());
  workflow::save_scvi(model_path, *t->model, t->data.registry, t->result.history, {{"seed", "0"}});
  const workflow::ScviFile f = workflow::read_scvi(model_path);
  EXPECT_EQ(f.history.at("elbo_train"), t->result.history.at("elbo_train"));  // stored and read back: exact
  EXPECT_EQ(f.registry.genes, t->data.registry.genes);
  auto loaded = workflow::load_scvi_model(f, *t->backend, 0);
  workflow::ScviSession s1(*t->backend, *t->model, t->data), s2(*t->backend, *loaded, t->data);
  EXPECT_EQ(s1.latent(true, 0), s2.latent(true, 0));
  // A file with other genes is refused with a message naming the difference.
  workflow::SimulationConfig other = small_sim(200);
  other.n_genes = 61;
  workflow::write_simulation(workflow::simulate(other), other, path);
  try {
    workflow::prepare_data(path, f.registry.keys, &f.registry);
    ADD_FAILURE() << "different genes must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gene"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
  std::filesystem::remove(model_path);
}

}  // namespace
}  // namespace cuvi::test
