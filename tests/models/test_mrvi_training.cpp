// MRVI training (spec/mrvi.md §3-4): scvi-tools' effective defaults, the KL warm-up, a falling loss,
// determinism for a seed, zero-count cells, the label-prior modes, model files and sample registries.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/models/mrvi_test_util.h"

namespace cuvi::test {
namespace {

// A hand-made host minibatch of 4 cells x 5 genes (sample codes in code column 0).
struct HostBatch {
  std::vector<float> x;
  std::vector<int32_t> sample, batch, labels;
  MiniBatch mb() {
    MiniBatch m;
    m.n = 4;
    m.x = Tensor(x.data(), DType::F32, Device::CPU, Shape{4, 5});
    m.codes = Tensor(sample.data(), DType::I32, Device::CPU, Shape{4, 1});
    m.batch = Tensor(batch.data(), DType::I32, Device::CPU, Shape{4});
    m.labels = Tensor(labels.data(), DType::I32, Device::CPU, Shape{4});
    return m;
  }
};

TEST(MrviTraining, DefaultsAreScviToolsEffectiveOnes) {
  const TrainConfig tc = models::mrvi_train_config();
  EXPECT_EQ(tc.batch_size, 128);
  EXPECT_EQ(tc.max_epochs, 0);  // the heuristic min(round(20000 / n * 400), 400)
  EXPECT_FALSE(tc.early_stopping);
  EXPECT_EQ(tc.early_stopping_patience, 15);
  EXPECT_EQ(tc.early_stopping_monitor, "elbo_validation");
  EXPECT_EQ(tc.n_epochs_kl_warmup, 20);
  EXPECT_DOUBLE_EQ(tc.optimizer.lr, 2e-3);
  EXPECT_DOUBLE_EQ(tc.optimizer.eps, 1e-8);
  EXPECT_DOUBLE_EQ(tc.optimizer.weight_decay, 1e-8);
  EXPECT_FALSE(tc.optimizer.decoupled);  // torch Adam's coupled L2, not AdamW
  EXPECT_DOUBLE_EQ(tc.optimizer.clip_norm, 40);
  const models::MrviConfig c;
  EXPECT_EQ(c.n_latent, 30);
  EXPECT_EQ(c.n_latent_u, 10);
  EXPECT_EQ(c.encoder_n_hidden, 128);
  EXPECT_EQ(c.encoder_n_layers, 2);
  EXPECT_EQ(c.u_prior_mixture_k, 20);
  EXPECT_TRUE(c.u_prior_mixture && c.z_u_prior && c.qz_use_map && c.px_low_dim_batch);
  EXPECT_FALSE(c.learn_z_u_prior_scale || c.scale_observations || c.qz.stop_gradients || c.px.stop_gradients);
  EXPECT_TRUE(c.qz.stop_gradients_mlp && c.px.stop_gradients_mlp);
  EXPECT_DOUBLE_EQ(c.qz.dropout_rate, 0.03);
  EXPECT_DOUBLE_EQ(c.px.dropout_rate, 0.03);
  EXPECT_EQ(c.qz.n_hidden, 32);
  EXPECT_EQ(c.label_prior, "per-cell");
  // KL warm-up min(1, epoch / 20), 0 in epoch 0 (§4).
  EXPECT_EQ(kl_weight_for(tc, 0, 0), 0.0);
  EXPECT_DOUBLE_EQ(kl_weight_for(tc, 5, 0), 0.25);
  EXPECT_EQ(kl_weight_for(tc, 20, 0), 1.0);
  EXPECT_EQ(kl_weight_for(tc, 300, 0), 1.0);
}

TEST(MrviTraining, LossFallsAndWarmUpIsLogged) {
  const std::string path = temp_path("mrvi_train.h5ad");
  TrainConfig tc = models::mrvi_train_config();
  tc.max_epochs = 8;
  auto t = train_mrvi_cpu(cohort_data(small_cohort(), path), tc);
  const auto& h = t->result.history;
  ASSERT_EQ(h.at("kl_weight").size(), 8u);
  for (int e = 0; e < 8; ++e) EXPECT_DOUBLE_EQ(h.at("kl_weight")[size_t(e)], e / 20.0);
  ASSERT_TRUE(h.count("elbo_validation"));
  EXPECT_LT(h.at("reconstruction_loss_train").back(), 0.9 * h.at("reconstruction_loss_train").front());
  EXPECT_LT(h.at("elbo_validation").back(), h.at("elbo_validation").front());
  for (double v : h.at("train_loss_epoch")) EXPECT_TRUE(std::isfinite(v));
  // 360 cells: 324 train (324 mod 128 = 68, no straggler move), 36 validate.
  EXPECT_EQ(t->result.split.train.size(), 324u);
  EXPECT_EQ(t->result.split.validation.size(), 36u);
  std::remove(path.c_str());
}

TEST(MrviTraining, SameSeedGivesTheSameModel) {
  const std::string path = temp_path("mrvi_seed.h5ad");
  TrainConfig tc = models::mrvi_train_config();
  tc.max_epochs = 2;
  tc.seed = 11;
  auto a = train_mrvi_cpu(cohort_data(small_cohort(), path), tc);
  auto b = train_mrvi_cpu(cohort_data(small_cohort(), path), tc);
  tc.seed = 12;
  auto c = train_mrvi_cpu(cohort_data(small_cohort(), path), tc);
  const ParamStore& pa = a->model->params();
  bool any_diff = false;
  for (size_t id = 0; id < pa.entries().size(); ++id) {
    EXPECT_EQ(pa.get(int(id)), b->model->params().get(int(id))) << pa.entry(int(id)).name;
    any_diff = any_diff || pa.get(int(id)) != c->model->params().get(int(id));
  }
  EXPECT_TRUE(any_diff) << "another seed must give another model";
  std::remove(path.c_str());
}

// One forward/backward on a hand-made minibatch whose row 1 has no counts.
TEST(MrviTraining, ZeroCountCellHasFiniteLossAndNoReconstructionTerm) {
  auto backend = make_cpu_backend(0, 1);
  models::MrviConfig cfg = small_mrvi();
  cfg.n_genes = 5;
  cfg.n_sample = 3;
  cfg.n_batch = 2;
  models::MrviModel model(cfg);
  model.allocate(*backend, 3);
  HostBatch hb{{1, 0, 2, 5, 1, 0, 0, 0, 0, 0, 3, 3, 0, 1, 2, 0, 4, 1, 1, 0}, {0, 1, 2, 1}, {0, 1, 0, 1}, {0, 0, 0, 0}};
  const MiniBatch mb = hb.mb();
  Arena arena(*backend, 16 << 20, "test");
  Tape tape(*backend, arena);
  tape.begin_step();
  models::Graph g{tape, model.params(), true, nullptr};
  const models::MrviOutputs o = model.module().forward(g, model.inputs(tape, mb));
  const float* ll = tape.value(o.log_lik).ptr<float>();
  EXPECT_EQ(ll[1], 0.f) << "a cell without counts has an NB mean of 0 and log p(0 | 0) = 0";
  EXPECT_TRUE(std::isfinite(tape.value(o.loss).ptr<float>()[0]));
  tape.backward(o.loss);
  const ParamStore& ps = model.params();
  for (int id : tape.params_with_grad()) {
    const Tensor gr = ps.grad(id);
    for (int64_t i = 0; i < gr.numel(); ++i)
      ASSERT_TRUE(std::isfinite(gr.ptr<float>()[i])) << ps.entry(id).name << "[" << i << "]";
  }
}

// scvi-tools' label broadcast scores cell i under every minibatch label j; with one label throughout
// it is the per-cell prior, with mixed labels it is not.
TEST(MrviTraining, ParityLabelPriorEqualsPerCellOnlyForOneLabel) {
  auto backend = make_cpu_backend(0, 1);
  auto loss_of = [&](const std::string& mode, std::vector<int32_t> labels) {
    models::MrviConfig cfg = small_mrvi();
    cfg.n_genes = 5;
    cfg.n_sample = 2;
    cfg.n_labels = 3;
    cfg.label_prior = mode;
    models::MrviModel model(cfg);
    model.allocate(*backend, 9);
    HostBatch hb{{1, 0, 2, 5, 1, 2, 1, 0, 0, 4, 3, 3, 0, 1, 2, 0, 4, 1, 1, 0}, {0, 1, 0, 1}, {0, 0, 0, 0}, labels};
    const MiniBatch mb = hb.mb();
    Arena arena(*backend, 16 << 20, "test");
    Tape tape(*backend, arena);
    tape.begin_step();
    models::Graph g{tape, model.params(), false, nullptr};
    return double(tape.value(model.module().forward(g, model.inputs(tape, mb)).loss).ptr<float>()[0]);
  };
  const double same_pc = loss_of("per-cell", {2, 2, 2, 2}), same_par = loss_of("parity", {2, 2, 2, 2});
  EXPECT_NEAR(same_pc, same_par, 1e-5 * std::fabs(same_pc));
  const double mixed_pc = loss_of("per-cell", {0, 1, 2, 0}), mixed_par = loss_of("parity", {0, 1, 2, 0});
  EXPECT_GT(std::fabs(mixed_pc - mixed_par), 1e-3 * std::fabs(mixed_pc));
}

TEST(MrviTraining, ModelFileRoundTripKeepsWeightsSamplesAndOptions) {
  const std::string path = temp_path("mrvi_file.h5ad"), model_path = temp_path("mrvi_file.cuvi");
  TrainConfig tc = models::mrvi_train_config();
  tc.max_epochs = 1;
  models::MrviConfig cfg = small_mrvi();
  cfg.qz_use_map = false;
  cfg.px.n_layers = 2;
  cfg.label_prior = "parity";
  cfg.scale_observations = true;
  auto t = train_mrvi_cpu(cohort_data(small_cohort(), path, true), tc, cfg);
  const workflow::SampleTable samples = workflow::sample_table(t->data);
  workflow::save_mrvi(model_path, *t->model, t->data.registry, samples, t->result.history, {{"seed", "0"}});
  const workflow::MrviFile f = workflow::read_mrvi(model_path);
  EXPECT_EQ(f.config.to_map(), t->model->config().to_map());
  EXPECT_EQ(f.file.registry.sample_categories, t->data.registry.sample_categories);
  EXPECT_EQ(f.file.registry.keys.sample_key, "donor");
  ASSERT_EQ(f.file.samples.samples.size(), 6u);
  EXPECT_EQ(f.file.samples.n_cells, samples.n_cells);
  const workflow::SampleColumn* cond = f.file.samples.find("condition");
  ASSERT_NE(cond, nullptr) << "the simulated condition is a per-donor covariate";
  EXPECT_EQ(cond->text, samples.find("condition")->text);
  EXPECT_EQ(f.file.samples.find("cell_type"), nullptr) << "cell_type varies within donors";
  auto loaded = workflow::load_mrvi_model(f, *t->backend, 0);
  for (size_t id = 0; id < loaded->params().entries().size(); ++id)
    EXPECT_EQ(loaded->params().get(int(id)), t->model->params().get(int(id))) << loaded->params().entry(int(id)).name;
  workflow::MrviSession s1(*t->backend, *t->model, t->data), s2(*t->backend, *loaded, t->data);
  EXPECT_EQ(s1.latent(true, true, 0), s2.latent(true, true, 0));
  EXPECT_NE(s1.latent(false, false, 0), s1.latent(false, true, 0)) << "a posterior sample is not the mean";
  std::remove(path.c_str());
  std::remove(model_path.c_str());
}

TEST(MrviTraining, InferenceDataMustUseTheModelsSamples) {
  const std::string path = temp_path("mrvi_reg.h5ad"), other = temp_path("mrvi_reg_other.h5ad");
  TrainConfig tc = models::mrvi_train_config();
  tc.max_epochs = 1;
  auto t = train_mrvi_cpu(cohort_data(small_cohort(), path), tc);
  workflow::SimulationConfig c = small_cohort();
  c.n_donors = 7;  // donor "donor_6" is new
  workflow::write_simulation(workflow::simulate(c), c, other);
  try {
    workflow::prepare_data(other, t->data.registry.keys, &t->data.registry);
    FAIL() << "an unknown sample must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("obs column 'donor'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not trained with"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  std::remove(other.c_str());
}

}  // namespace
}  // namespace cuvi::test
