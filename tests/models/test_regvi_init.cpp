// RegularizedVI initialisation and loss rules of regularizedvi's own tests (regularizedvi.md §10): the
// state-dict inventory with distinct category counts per key, the prior-equilibrium init of the dispersion
// posterior and its rate, feature scaling ~1, background init from data vs the flat prior mean, decoder
// bias per init mode, centred library buffers, global terms scaling as 1/N, L2 on weights only, and the
// data-driven ("data") dispersion init replacing the hyper-prior mean.
#include <gtest/gtest.h>

#include <cfloat>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "engine/optimizer_set.h"
#include "models/regularized_vi/regvi_init.h"
#include "models/regularized_vi/regvi_model.h"

namespace cuvi::test {
namespace {

using models::RegviConfig;

struct Synthetic {
  int64_t N = 120, G = 25;
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> data, dense;
  models::RegviCells cells;
  CsrView view() const {
    CsrView v;
    v.indptr = indptr.data();
    v.indices = indices.data();
    v.data = data.data();
    v.n_rows = N;
    v.n_cols = G;
    return v;
  }
  // Counts with gene means spread over two orders of magnitude and a library effect per ambient category.
  Synthetic() {
    std::mt19937 rng(7);
    std::gamma_distribution<double> gam(2.0, 1.0);
    dense.assign(size_t(N * G), 0.f);
    cells.n_cells = N;
    for (int64_t n = 0; n < N; ++n) {
      const int32_t site = int32_t(n % 2), lane = int32_t(n % 3);
      cells.ambient.insert(cells.ambient.end(), {site, lane});
      cells.nn.insert(cells.nn.end(), {int32_t(n % 4), 0});
      cells.scaling.insert(cells.scaling.end(), {int32_t(n % 5), int32_t(n % 6)});
      cells.dispersion.push_back(int32_t(n % 7));
      cells.library.push_back(int32_t(n % 8));
      for (int64_t g = 0; g < G; ++g) {
        const double mu = std::exp(0.2 * double(g) - 1.0) * (site ? 2.0 : 1.0) * gam(rng) / 2.0;
        std::poisson_distribution<int> pois(mu);
        const int c = pois(rng);
        dense[n * G + g] = float(c);
        if (c) {
          indices.push_back(int32_t(g));
          data.push_back(float(c));
        }
      }
      indptr.push_back(int64_t(indices.size()));
    }
  }
};

RegviConfig distinct_config(int64_t G) {
  RegviConfig c = RegviConfig::single_modal(G);
  c.modalities[0].n_hidden = 17;
  c.modalities[0].n_latent = 13;
  c.n_cats_ambient = {2, 3};
  c.n_cats_nn = {4, 1};
  c.n_cats_scaling = {5, 6};
  c.n_dispersion_cats = 7;
  c.n_library_cats = 8;
  c.n_continuous_cov = 3;
  return c;
}

std::vector<int64_t> shape_of(const ParamStore& ps, const std::string& name) {
  const int id = ps.find(name);
  EXPECT_GE(id, 0) << name;
  if (id < 0) return {};
  const Shape& s = ps.entry(id).shape;
  return std::vector<int64_t>(s.d, s.d + s.ndim);
}

TEST(RegviInit, StateDictInventoryWithDistinctCovariates) {
  models::RegviModel m(distinct_config(50));
  const ParamStore& ps = m.params();
  using V = std::vector<int64_t>;
  EXPECT_EQ(shape_of(ps, "z_encoder.encoder.fc_layers.Layer 0.0.weight"), (V{17, 53}));  // G + 3 continuous
  EXPECT_EQ(shape_of(ps, "z_encoder.mean_encoder.weight"), (V{13, 17}));
  EXPECT_EQ(shape_of(ps, "z_encoder.var_encoder.weight"), (V{13, 17}));
  EXPECT_EQ(shape_of(ps, "l_encoder.encoder.fc_layers.Layer 0.0.weight"), (V{16, 53}));
  EXPECT_EQ(shape_of(ps, "l_encoder.mean_encoder.weight"), (V{1, 16}));
  // Decoder layer 0: K + 3 continuous + 4 one-hot columns (the 1-category key adds none).
  EXPECT_EQ(shape_of(ps, "decoder.px_decoder.fc_layers.Layer 0.0.weight"), (V{17, 13 + 3 + 4}));
  for (const char* head : {"decoder.px_scale_decoder.0.weight", "decoder.px_r_decoder.weight",
                           "decoder.px_dropout_decoder.weight"})
    EXPECT_EQ(shape_of(ps, head), (V{50, 17})) << head;
  EXPECT_EQ(shape_of(ps, "px_r_mu"), (V{50, 7}));
  EXPECT_EQ(shape_of(ps, "px_r_log_sigma"), (V{50, 7}));
  EXPECT_EQ(shape_of(ps, "dispersion_prior_rate_raw"), (V{7}));
  EXPECT_EQ(shape_of(ps, "additive_background"), (V{50, 5}));
  EXPECT_EQ(shape_of(ps, "feature_scaling"), (V{11, 50}));
  EXPECT_EQ(shape_of(ps, "library_log_means"), (V{1, 8}));
  EXPECT_EQ(shape_of(ps, "library_log_vars"), (V{1, 8}));
  for (const char* s : {"library_global_log_mean", "library_log_sensitivity", "library_obs_w_mu",
                        "library_obs_w_log_sigma"})
    EXPECT_EQ(shape_of(ps, s), (V{1})) << s;
  // Nothing else: FC weights and biases, 2 encoder heads x 2 encoders, 3 decoder heads, 9 named tensors.
  EXPECT_EQ(ps.entries().size(), size_t(2 + 4 + 2 + 4 + 2 + 6 + 3 + 2 + 2 + 4));
}

TEST(RegviInit, PriorEquilibriumAndFeatureScaling) {
  const Synthetic d;
  auto be = make_cpu_backend(0, 1);
  models::RegviModel m(distinct_config(d.G));
  m.allocate(*be, 11);
  const ParamStore& ps = m.params();
  const std::vector<float> mu = ps.get(ps.find("px_r_mu"));
  double mean_theta = 0, mean_m = 0, var_m = 0;
  for (float v : mu) {
    mean_theta += std::exp(v);
    mean_m += v;
  }
  mean_theta /= double(mu.size());
  mean_m /= double(mu.size());
  for (float v : mu) var_m += (v - mean_m) * (v - mean_m);
  EXPECT_NEAR(mean_theta, 9.0, 0.2 * 9.0);                          // theta_init = 1 / mean^2 = 9
  EXPECT_NEAR(std::sqrt(var_m / double(mu.size())), 0.1, 0.05);     // N(log 9, 0.1^2) draws
  for (float v : ps.get(ps.find("px_r_log_sigma"))) EXPECT_FLOAT_EQ(v, float(std::log(0.1)));
  for (float v : ps.get(ps.find("dispersion_prior_rate_raw"))) EXPECT_NEAR(std::log1p(std::exp(v)), 3.0, 1e-5);
  for (float v : ps.get(ps.find("feature_scaling"))) EXPECT_NEAR(std::log1p(std::exp(v)) / 0.7, 1.0, 0.02);
  EXPECT_FLOAT_EQ(ps.get(ps.find("library_obs_w_log_sigma"))[0], -2.f);
}

TEST(RegviInit, DataDrivenBackgroundBiasAndLibrary) {
  const Synthetic d;
  auto be = make_cpu_backend(0, 1);
  auto init_with = [&](const std::string& bias, double bg_fraction) {
    RegviConfig c = distinct_config(d.G);
    c.init_decoder_bias = bias;
    c.bg_init_gene_fraction = bg_fraction;
    auto m = std::make_unique<models::RegviModel>(c);
    m->allocate(*be, 3);
    models::RegviInitData in;
    in.counts = {d.view()};
    in.cells = &d.cells;
    models::apply_data_init(*m, in);
    return m;
  };
  auto mean_model = init_with("mean", 0.2), top_model = init_with("topN", 0.2), none_model = init_with("none", 0);
  const ParamStore& a = mean_model->params();
  // Background from data varies by gene (gene means span ~e^5); the flat prior init stays near log 0.01.
  const std::vector<float> bg = a.get(a.find("additive_background"));
  const std::vector<float> flat = none_model->params().get(none_model->params().find("additive_background"));
  auto spread = [](const std::vector<float>& v) {
    return *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end());
  };
  EXPECT_GT(spread(bg), 3.0);
  double flat_mean = 0;
  for (float v : flat) flat_mean += std::exp(v);
  EXPECT_NEAR(flat_mean / double(flat.size()), 0.01, 0.001);
  EXPECT_LT(spread(flat), 0.2);
  // Decoder bias differs across none / mean / topN.
  const std::string b = "decoder.px_scale_decoder.0.bias";
  const std::vector<float> bm = a.get(a.find(b)), bt = top_model->params().get(top_model->params().find(b)),
                           bn = none_model->params().get(none_model->params().find(b));
  EXPECT_NE(bm, bt);
  EXPECT_NE(bm, bn);
  EXPECT_GT(bm.back(), bm.front() + 2.0);  // the last gene is ~e^4.8 times more expressed
  // Library buffers: centred group means, global mean stored, variances halved.
  const std::vector<float> means = a.get(a.find("library_log_means"));
  const double avg = std::accumulate(means.begin(), means.end(), 0.0) / double(means.size());
  EXPECT_LT(std::fabs(avg), 0.1);
  EXPECT_GT(a.get(a.find("library_global_log_mean"))[0], 1.0);
  std::vector<double> totals(d.N, 0);
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t g = 0; g < d.G; ++g) totals[n] += d.dense[n * d.G + g];
  const models::RegviLibraryPrior full = models::library_prior_of(totals, d.cells.library, 8, 1.0, 0);
  const std::vector<float> vars = a.get(a.find("library_log_vars"));
  for (size_t p = 0; p < vars.size(); ++p) EXPECT_NEAR(vars[p], 0.5 * full.vars[p], 1e-6);
}

// One training-mode forward on all cells with N = n_obs: the global part of the loss (before / N) and
// the loss minus its local part.
struct GlobalPart {
  double global = 0, loss_minus_local = 0, loss = 0;
};
GlobalPart global_part(models::RegviModel& m, const Synthetic& d, Backend& be, int64_t n_obs) {
  m.set_n_obs(n_obs);
  Arena arena(be, 16 << 20, "test");
  Tape tape(be, arena);
  tape.begin_step();
  std::vector<float> cont(size_t(d.N * 3), 0.5f);
  std::vector<int32_t> rows(d.N);
  std::iota(rows.begin(), rows.end(), 0);
  MiniBatch mb;
  mb.n = d.N;
  mb.x = Tensor(const_cast<float*>(d.dense.data()), DType::F32, Device::CPU, Shape{d.N, d.G});
  mb.cont = Tensor(cont.data(), DType::F32, Device::CPU, Shape{d.N, 3});
  mb.rows = Tensor(rows.data(), DType::I32, Device::CPU, Shape{d.N});
  models::Graph g{tape, m.params(), true, nullptr};
  const models::RegviOutputs o = m.forward(g, m.inputs(tape, mb));
  GlobalPart r;
  r.loss = tape.value(o.loss).ptr<float>()[0];
  r.global = tape.value(o.global).ptr<float>()[0];
  const float* rec = tape.value(o.recon).ptr<float>();
  const float* kz = tape.value(o.kl_z).ptr<float>();
  const float* kl = tape.value(o.kl_l).ptr<float>();
  double local = 0;
  for (int64_t n = 0; n < d.N; ++n) local += rec[n] + kz[n] + kl[n];  // kl_weight 1 (default scalars)
  r.loss_minus_local = r.loss - local / double(d.N);
  return r;
}

TEST(RegviInit, GlobalTermsScaleAsOneOverTrainingSetSize) {
  const Synthetic d;
  auto be = make_cpu_backend(5, 1);
  models::RegviModel m(distinct_config(d.G));
  m.allocate(*be, 5);
  m.set_cells(d.cells);
  const GlobalPart a = global_part(m, d, *be, 1000), b = global_part(m, d, *be, 2000);
  EXPECT_EQ(a.global, b.global);  // same Philox draws: the terms themselves do not depend on N
  // loss - local = (global + constants) / N: halves when N doubles, up to the fp32 rounding of the loss.
  const double tol = 8 * FLT_EPSILON * std::fabs(a.loss);
  EXPECT_GT(std::fabs(a.loss_minus_local), 100 * tol);
  EXPECT_NEAR(b.loss_minus_local, 0.5 * a.loss_minus_local, tol);
}

TEST(RegviInit, DecoderL2PenalisesWeightsNotBiases) {
  const Synthetic d;
  auto be = make_cpu_backend(5, 1);
  RegviConfig c = distinct_config(d.G);
  c.regularise_dispersion = false;
  c.modalities[0].feature_scaling = false;
  c.residual_library_encoder = false;
  models::RegviModel m(c);
  m.allocate(*be, 5);
  m.set_cells(d.cells);
  const double l2 = global_part(m, d, *be, 1000).global;
  ParamStore& ps = m.params();
  double ss = 0;  // every decoder FC weight and the px_scale head's weight; no bias, no unused head
  for (const auto& L : m.module().modality_params()[0].px_decoder.layers())
    for (float v : ps.get(L.weight)) ss += double(v) * v;
  for (float v : ps.get(ps.find("decoder.px_scale_decoder.0.weight"))) ss += double(v) * v;
  EXPECT_NEAR(l2, 0.1 * ss, 1e-5 * l2);  // the only global term left
}

TEST(RegviInit, DataDispersionInitReplacesTheHyperPriorMean) {
  const Synthetic d;
  RegviConfig c = distinct_config(d.G);
  c.dispersion_init = "data";
  models::RegviInitData in;
  in.counts = {d.view()};
  in.cells = &d.cells;
  const auto log_theta = models::resolve_dispersion_init(c, in);
  ASSERT_EQ(log_theta.size(), 1u);
  ASSERT_EQ(int64_t(log_theta[0].size()), d.G);
  double mom = 0;
  for (float v : log_theta[0]) {
    EXPECT_GE(v, std::log(0.01) - 1e-5);
    EXPECT_LE(v, std::log(20.0) + 1e-5);
    mom += 1.0 / std::sqrt(std::exp(double(v)));
  }
  EXPECT_NEAR(c.modalities[0].dispersion_hyper_prior_mean, mom / double(d.G), 1e-5);
  auto be = make_cpu_backend(0, 1);
  models::RegviModel m(c);
  m.allocate(*be, 9);
  models::apply_data_init(m, in, log_theta);
  const ParamStore& ps = m.params();
  const std::vector<float> mu = ps.get(ps.find("px_r_mu"));
  for (int64_t g = 0; g < d.G; ++g)
    for (int64_t k = 0; k < 7; ++k) EXPECT_NEAR(mu[g * 7 + k], log_theta[0][g], 0.5);  // N(log theta_g, 0.1^2)
  EXPECT_NEAR(std::log1p(std::exp(ps.get(ps.find("dispersion_prior_rate_raw"))[0])),
              1.0 / c.modalities[0].dispersion_hyper_prior_mean, 1e-4);
}


// modality_lr_multiplier (MultimodalTrainingPlan): one Adam step from the same gradients moves the listed
// modality's parameters by lr * multiplier * g / (|g| + eps) and everything else by lr * g / (|g| + eps).
TEST(RegviInit, ModalityLearningRateMultiplier) {
  const Synthetic d;
  RegviConfig c = distinct_config(d.G);
  c.multimodal = true;
  c.modalities[0].name = "atac";
  c.modalities[0].n_features = 10;
  models::RegviModality rna = c.modalities[0];
  rna.name = "rna";
  rna.n_features = d.G - 10;
  c.modalities.push_back(rna);
  c.modality_lr_multiplier["atac"] = 2.0;
  auto be = make_cpu_backend(5, 1);
  models::RegviModel m(c);
  m.allocate(*be, 5);
  m.set_cells(d.cells);
  m.set_n_obs(1000);
  const AdamConfig base = AdamConfig::scvi();
  m.set_base_optimizer(base);
  const std::vector<ParamGroup> groups = m.extra_optimizers();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_DOUBLE_EQ(groups[0].config.lr, 2e-3);
  ParamStore& ps = m.params();
  std::vector<std::vector<float>> before;
  for (size_t id = 0; id < ps.entries().size(); ++id) before.push_back(ps.get(int(id)));
  OptimizerSet opt(*be, ps, base, groups);
  Arena arena(*be, 16 << 20, "test");
  Tape tape(*be, arena);
  tape.begin_step();
  std::vector<float> cont(size_t(d.N * 3), 0.5f);
  std::vector<int32_t> rows(d.N);
  std::iota(rows.begin(), rows.end(), 0);
  MiniBatch mb;
  mb.n = d.N;
  mb.x = Tensor(const_cast<float*>(d.dense.data()), DType::F32, Device::CPU, Shape{d.N, d.G});
  mb.cont = Tensor(cont.data(), DType::F32, Device::CPU, Shape{d.N, 3});
  mb.rows = Tensor(rows.data(), DType::I32, Device::CPU, Shape{d.N});
  models::Graph g{tape, ps, true, nullptr};
  tape.backward(m.forward(g, m.inputs(tape, mb)).loss);
  std::vector<std::vector<float>> grads(ps.entries().size());
  for (int id : tape.params_with_grad()) {
    const Tensor t = ps.grad(id);
    grads[id].assign(t.ptr<float>(), t.ptr<float>() + t.numel());
  }
  opt.step(tape.params_with_grad());
  const std::vector<int> atac = m.modality_parameters(0);
  int checked_atac = 0, checked_rest = 0;
  for (int id : tape.params_with_grad()) {
    const bool in_atac = std::find(atac.begin(), atac.end(), id) != atac.end();
    const double lr = in_atac ? 2e-3 : 1e-3;
    const std::vector<float> after = ps.get(id);
    for (size_t k = 0; k < after.size(); ++k) {
      const double gk = double(grads[id][k]) + base.weight_decay * before[id][k];  // coupled L2
      const double expect = double(before[id][k]) - lr * gk / (std::fabs(gk) + base.eps);
      ASSERT_NEAR(after[k], expect, 1e-6 + 1e-5 * std::fabs(expect)) << ps.entry(id).name << "[" << k << "]";
    }
    (in_atac ? checked_atac : checked_rest)++;
  }
  EXPECT_GT(checked_atac, 10);
  EXPECT_GT(checked_rest, 10);
  EXPECT_EQ(ps.entry(atac.front()).name.rfind("encoders.atac.", 0), 0u);
}

}  // namespace
}  // namespace cuvi::test
