// Parity with regularizedvi (regularizedvi.md §4-8; DESIGN.md decision 8): for every fixture in
// tests/fixtures/regvi (AmbientRegularizedSCVI defaults, size factor + gene dispersion + 2 layers,
// topN + sqrt prior + background prior + sensitivity, RegularizedMultimodalVI concatenation with a
// missing modality), regularizedvi's weights, inputs and recorded noise go through cuvi's module: forward
// tensors, every local and global loss term, the gradients and three Adam steps must match; the
// data-driven init (library buffers, decoder bias, background) computed by cuvi must equal the model's.
#include <gtest/gtest.h>

#include <cfloat>
#include <algorithm>
#include <cmath>
#include <set>

#include "engine/optimizer_set.h"
#include "models/regularized_vi/regvi_init.h"
#include "models/regularized_vi/regvi_model.h"
#include "tests/models/parity_case.h"
#include "tests/models/parity_compare.h"

namespace cuvi::test {
namespace {

using models::RegviConfig;
using models::RegviModality;

// The generator's covariate layout (gen_regvi_fixtures.py KEYS).
const std::vector<std::pair<std::string, int64_t>> kAmbient{{"site", 2}, {"lane", 3}}, kNn{{"donor", 4}, {"const", 1}},
    kScaling{{"tech", 5}, {"kit", 6}};

struct FixtureRun {
  std::unique_ptr<Backend> backend = make_cpu_backend(0, 2);
  io::Node root;
  RegviConfig cfg;
  std::unique_ptr<models::RegviModel> model;
  models::RegviCells cells;
  std::vector<HostArray> counts;  // per modality, model order
  std::vector<float> x, cont;
  std::vector<int32_t> rows;
  int64_t N = 0, n_obs = 0;

  explicit FixtureRun(const std::string& path) {
    root = io::Node::root(io::H5File::open_read(path));
    const io::Node c = root.open("config");
    const bool multi = c.attr_ints("multimodal").at(0) != 0;
    auto has = [&](const std::string& k) { return c.has_attr(k); };
    auto str = [&](const std::string& k, const std::string& d) { return has(k) ? c.attr_string(k).value() : d; };
    auto integer = [&](const std::string& k, int64_t d) { return has(k) ? c.attr_ints(k).at(0) : d; };
    cfg.multimodal = multi;
    const std::vector<std::string> names = multi ? std::vector<std::string>{"atac", "rna"} : std::vector<std::string>{""};
    for (const std::string& m : names) {
      RegviModality md;
      md.name = m;
      counts.push_back(read_array(root.open(multi ? "data/x_" + m : "data/x")));
      md.n_features = counts.back().shape[1];
      // A setting is one value or a per-modality dict ("key.<modality>").
      auto key = [&](const std::string& k) { return multi && has(k + "." + m) ? k + "." + m : k; };
      md.n_hidden = integer(key("n_hidden"), 128);
      md.n_latent = integer(key("n_latent"), 10);
      md.n_layers = int(integer(key("n_layers"), 1));
      md.dispersion = str(key("dispersion"), "gene-batch");
      md.dispersion_prior_direction = str("dispersion_prior_direction", "inverse_sqrt");
      if (multi) {  // regularizedvi's defaults: background on "rna", feature scaling on "atac"
        const std::string bg = str("additive_background_modalities", "rna"), fs = str("feature_scaling_modalities", "atac");
        md.additive_background = ("," + bg + ",").find("," + m + ",") != std::string::npos;
        md.feature_scaling = ("," + fs + ",").find("," + m + ",") != std::string::npos;
      }
      if (has(key("resolved_hyper_prior_mean")))
        md.dispersion_hyper_prior_mean = attr_double(c, key("resolved_hyper_prior_mean"));
      if (has("decoder_bias_multiplier")) md.decoder_bias_multiplier = attr_double(c, "decoder_bias_multiplier");
      if (has("library_log_means_centering_sensitivity"))
        md.centering_sensitivity = attr_double(c, "library_log_means_centering_sensitivity");
      cfg.modalities.push_back(md);
    }
    for (auto& [k, n] : kAmbient) cfg.n_cats_ambient.push_back(n);
    for (auto& [k, n] : kNn) cfg.n_cats_nn.push_back(n);
    for (auto& [k, n] : kScaling) cfg.n_cats_scaling.push_back(n);
    cfg.n_dispersion_cats = 7;
    cfg.n_library_cats = 8;
    cfg.n_continuous_cov = integer("n_cont", 2);
    cfg.latent_mode = str("latent_mode", "concatenation");
    cfg.modality_weights = str("modality_weights", "equal");
    cfg.use_size_factor = has("size_factor_key");
    cfg.init_decoder_bias = str("init_decoder_bias", "mean");
    cfg.regularise_background = integer("regularise_background", 0) != 0;
    if (has("decoder_cov_weight_l2")) cfg.decoder_cov_weight_l2 = attr_double(c, "decoder_cov_weight_l2");
    n_obs = integer("n_obs", 1);

    N = counts[0].shape[0];
    cells.n_cells = N;
    auto codes = [&](const std::vector<std::pair<std::string, int64_t>>& keys, std::vector<int32_t>& out) {
      std::vector<HostArray> cols;
      for (auto& [k, n] : keys) cols.push_back(read_array(root.open("data/" + k)));
      for (int64_t i = 0; i < N; ++i)
        for (const HostArray& a : cols) out.push_back(int32_t(a.v[i]));
    };
    codes(kAmbient, cells.ambient);
    codes(kNn, cells.nn);
    codes(kScaling, cells.scaling);
    for (float v : read_array(root.open("data/disp")).v) cells.dispersion.push_back(int32_t(v));
    for (float v : read_array(root.open("data/libgrp")).v) cells.library.push_back(int32_t(v));
    cells.size_factor = read_array(root.open("data/sf")).v;
    cont = read_array(root.open("data/cont")).v;

    model = std::make_unique<models::RegviModel>(cfg);
    model->allocate(*backend, 0);
    model->set_cells(cells);
    model->set_n_obs(n_obs);
    load_param_group(root, "weights", model->params());
    const int64_t F = cfg.total_features();
    x.assign(size_t(N * F), 0.f);
    int64_t at = 0;
    for (const HostArray& a : counts) {
      const int64_t f = a.shape[1];
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < f; ++j) x[i * F + at + j] = a.v[i * f + j];
      at += f;
    }
    for (int64_t i = 0; i < N; ++i) rows.push_back(int32_t(i));
    StepScalars s;
    s.kl_weight = attr_double(c, "kl_weight");
    backend->write_scalars(s);
  }
  MiniBatch minibatch() {
    MiniBatch mb;
    mb.n = N;
    mb.x = Tensor(x.data(), DType::F32, Device::CPU, Shape{N, cfg.total_features()});
    if (cfg.n_continuous_cov) mb.cont = Tensor(cont.data(), DType::F32, Device::CPU, Shape{N, 2});
    mb.rows = Tensor(rows.data(), DType::I32, Device::CPU, Shape{N});
    return mb;
  }
  // Recorded noise; torch's scalar draws (the residual-library w) enter as (1).
  models::NoiseSource noise(const std::string& group, std::vector<HostArray>& keep) {
    models::NoiseSource ns = recorded_noise(root, group, keep);
    for (auto& [k, t] : ns.tensors)
      if (t.shape.ndim == 0) t.shape = Shape{1};
    return ns;
  }
  HostArray fwd(const std::string& k) { return read_array(root.open("forward/" + k)); }
  bool has_fwd(const std::string& k) { return root.open_if("forward/" + k).has_value(); }
};

class RegviFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(RegviFixture, ForwardLossesAndGradientsMatchRegularizedvi) {
  FixtureRun r(GetParam().path);
  Arena arena(*r.backend, 64 << 20, "fixture");
  Tape tape(*r.backend, arena);
  tape.begin_step();
  std::vector<HostArray> keep;
  const models::NoiseSource ns = r.noise("noise", keep);
  models::Graph g{tape, r.model->params(), true, &ns};
  const models::RegviOutputs o = r.model->forward(g, r.model->inputs(tape, r.minibatch()));
  const bool multi = r.cfg.multimodal;
  for (size_t i = 0; i < r.cfg.modalities.size(); ++i) {
    const models::RegviModalityOut& m = o.m[i];
    const std::string s = multi ? "." + r.cfg.modalities[i].name : "";
    std::vector<std::pair<TensorId, std::string>> t{{m.px_scale, "px_scale"}, {m.px_rate, "px_rate"},
                                                    {m.theta, "theta"}};
    if (m.qz_m != kNoTensor) {
      t.push_back({m.qz_m, "qz_m"});
      t.push_back({m.qz_v, "qz_v"});
      if (multi) t.push_back({m.z, "z"});
    }
    if (r.cfg.learned_library()) {
      t.push_back({m.ql_m, "ql_m"});
      t.push_back({m.ql_v, "ql_v"});
      t.push_back({m.library, "library"});
    }
    if (multi) t.push_back({m.mask, "mask"});
    for (auto& [id, name] : t) {
      std::vector<float> got = host_values(tape, id);
      const HostArray ref = r.fwd(name + s);
      if (name == "theta" && got.size() * size_t(r.N) == ref.v.size()) {  // "gene": torch broadcasts theta
        std::vector<float> tiled;
        for (int64_t n = 0; n < r.N; ++n) tiled.insert(tiled.end(), got.begin(), got.end());
        got = tiled;
      }
      EXPECT_TRUE(close_to(got, ref, name + s));
    }
    // Global terms: ours leave out the parameter-free constants, so compare differences to the fixture's
    // through the total loss below, and each term's parameter-dependent part through its gradient; the
    // L2 penalty has no constant.
    const std::string u = multi ? "_" + r.cfg.modalities[i].name : "";
    EXPECT_TRUE(close_to(host_values(tape, m.l2), r.fwd("l2" + u), "l2" + u));
  }
  EXPECT_TRUE(close_to(host_values(tape, o.z), r.fwd("z"), "z"));
  if (o.qz_m != kNoTensor) {  // single_encoder: the joint posterior
    EXPECT_TRUE(close_to(host_values(tape, o.qz_m), r.fwd("qz_m"), "joint qz_m"));
    EXPECT_TRUE(close_to(host_values(tape, o.qz_v), r.fwd("qz_v"), "joint qz_v"));
  }
  EXPECT_TRUE(close_to(host_values(tape, o.recon), r.fwd("recon"), "recon"));
  EXPECT_TRUE(close_to(host_values(tape, o.kl_z), r.fwd("kl_z"), "kl_z"));
  if (o.kl_l != kNoTensor) {
    EXPECT_TRUE(close_to(host_values(tape, o.kl_l), r.fwd("kl_l"), "kl_l"));
  } else {
    for (float v : r.fwd("kl_l").v) EXPECT_EQ(v, 0.f);
  }
  // Each global term with its constant added back equals regularizedvi's.
  const double a_fs = r.cfg.feature_scaling_prior_alpha, b_fs = r.cfg.feature_scaling_prior_beta;
  for (size_t i = 0; i < r.cfg.modalities.size(); ++i) {
    const models::RegviModalityOut& m = o.m[i];
    const RegviModality& md = r.cfg.modalities[i];
    const std::string u = multi ? "_" + md.name : "";
    const int64_t D = md.per_group_dispersion() ? r.cfg.n_dispersion_cats : 1;
    const double hl = 0.5 * std::log(2 * M_PI * M_E);
    const double a = md.dispersion_hyper_prior_alpha, b = a * md.dispersion_hyper_prior_mean;
    auto expect_term = [&](TensorId id, const std::string& name, double constant) {
      const double ref = r.fwd(name + u).v.at(0);
      const double got = host_values(tape, id).at(0) + constant;
      // torch evaluates each entry's log-density in fp32 around its normaliser: the sum carries the
      // rounding of |constant| (e.g. 264 entries x 200 log 200 for the scaling prior).
      EXPECT_NEAR(got, ref, 1e-5 * std::fabs(ref) + 1e-4 + 8 * FLT_EPSILON * std::fabs(constant)) << name + u;
    };
    expect_term(m.dispersion_kl, "dispersion_kl", -double(md.n_features * D) * hl);
    expect_term(m.hyper_prior, "hyper_prior", -double(D) * (a * std::log(b) - std::lgamma(a)));
    if (m.scaling_penalty != kNoTensor)
      expect_term(m.scaling_penalty, "scaling_penalty",
                -double(r.cfg.total_scaling() * md.n_features) * (a_fs * std::log(b_fs) - std::lgamma(a_fs)));
    if (m.kl_w != kNoTensor) expect_term(m.kl_w, "kl_w", -hl - std::log(r.cfg.library_obs_w_prior_rate));
    if (m.background_penalty != kNoTensor) {
      const double aa = r.cfg.additive_bg_prior_alpha, bb = r.cfg.additive_bg_prior_beta;
      expect_term(m.background_penalty, "background_penalty",
                  -double(md.n_features * r.cfg.total_ambient()) * (aa * std::log(bb) - std::lgamma(aa)));
    }
  }
  EXPECT_TRUE(close_to(host_values(tape, o.loss), r.fwd("loss"), "loss"));

  tape.backward(o.loss);
  ParamStore& ps = r.model->params();
  std::set<std::string> ours, theirs;
  for (int id : tape.params_with_grad()) ours.insert(ps.entry(id).name);
  for (const std::string& k : r.root.open("grads").members()) theirs.insert(k);
  EXPECT_EQ(ours, theirs) << "parameters receiving a gradient differ from regularizedvi's";
  for (const std::string& k : theirs)
    if (ps.find(k) >= 0) expect_gradient_matches(ps, r.root, k);
}

TEST_P(RegviFixture, ThreeAdamStepsMatchRegularizedvi) {
  FixtureRun r(GetParam().path);
  Arena arena(*r.backend, 64 << 20, "fixture");
  OptimizerSet opt(*r.backend, r.model->params(), AdamConfig::scvi(), {});
  const HostArray losses = read_array(r.root.open("steps/losses"));
  for (int k = 0; k < int(losses.v.size()); ++k) {
    Tape tape(*r.backend, arena);
    tape.begin_step();
    std::vector<HostArray> keep;
    const models::NoiseSource ns = r.noise("steps/" + std::to_string(k) + "/noise", keep);
    models::Graph g{tape, r.model->params(), true, &ns};
    const models::RegviOutputs o = r.model->forward(g, r.model->inputs(tape, r.minibatch()));
    EXPECT_NEAR(host_values(tape, o.loss)[0], losses.v[k], 1e-4 * std::fabs(losses.v[k])) << "loss of step " << k;
    tape.backward(o.loss);
    opt.step(tape.params_with_grad());
  }
  ParamStore& ps = r.model->params();
  for (size_t id = 0; id < ps.entries().size(); ++id) {
    const ParamEntry& e = ps.entry(int(id));
    EXPECT_TRUE(close_to(ps.get(int(id)), read_array(r.root.open("steps/final/" + e.name)), "final " + e.name, 1e-4, 1e-4));
  }
}

// regularizedvi's init values (init/ group: what the model passed its module) from cuvi's own computation.
TEST_P(RegviFixture, DataDrivenInitMatchesRegularizedvi) {
  FixtureRun r(GetParam().path);
  for (size_t i = 0; i < r.cfg.modalities.size(); ++i) {
    const RegviModality& md = r.cfg.modalities[i];
    const std::string s = r.cfg.multimodal ? "." + md.name : "";
    const HostArray& xa = r.counts[i];
    std::vector<int64_t> indptr{0};
    std::vector<int32_t> indices;
    std::vector<float> data;
    for (int64_t n = 0; n < xa.shape[0]; ++n) {
      for (int64_t j = 0; j < xa.shape[1]; ++j)
        if (xa.v[n * xa.shape[1] + j] != 0) {
          indices.push_back(int32_t(j));
          data.push_back(xa.v[n * xa.shape[1] + j]);
        }
      indptr.push_back(int64_t(indices.size()));
    }
    CsrView x;
    x.indptr = indptr.data();
    x.indices = indices.data();
    x.data = data.data();
    x.n_rows = xa.shape[0];
    x.n_cols = xa.shape[1];
    const double sens = md.centering_sensitivity > 0 ? md.centering_sensitivity : 1.0;
    const std::vector<double> target = models::decoder_bias_target(x, r.cfg.init_decoder_bias, sens);
    std::vector<float> tf(target.begin(), target.end());
    if (md.decoder_bias_multiplier == 1.0) {  // the model hands its module the multiplied target otherwise
      EXPECT_TRUE(close_to(tf, read_array(r.root.open("init/decoder_bias_init" + s)), "decoder bias target", 1e-5, 1e-6));
    }
    // ... and the bias the module wrote from it.
    const std::string dec = r.cfg.multimodal ? "decoders." + md.name : "decoder";
    EXPECT_TRUE(close_to(models::decoder_bias_of(target, md.decoder_bias_multiplier), read_array(r.root.open("weights/" + dec + ".px_scale_decoder.0.bias")),
                      "decoder bias", 1e-5, 1e-6));
    const std::vector<float> bg = models::background_init_of(x, r.cells.ambient, r.cfg.n_cats_ambient, 0.2, sens);
    if (const auto ref = r.root.open_if("init/additive_bg_init_per_gene" + s))  // modalities with a background
      EXPECT_TRUE(close_to(bg, read_array(*ref), "background init", 1e-5, 1e-6));
    else
      EXPECT_FALSE(md.additive_background);
    if (const auto ref = r.root.open_if("init/px_r_init_mean" + s)) {  // dispersion_init="data"
      const models::DispersionMoM mom = models::dispersion_mom(x, 0.9, 0.01, 20.0, md.dispersion_prior_direction);
      EXPECT_TRUE(close_to(mom.log_theta, read_array(*ref), "MoM log theta", 1e-5, 1e-6));
      EXPECT_NEAR(std::clamp(mom.suggested_mean, 1e-4, 100.0), md.dispersion_hyper_prior_mean,
                  1e-6 * md.dispersion_hyper_prior_mean);
    }
    if (!r.cfg.learned_library()) continue;
    std::vector<double> totals(x.n_rows, 0);
    for (int64_t n = 0; n < x.n_rows; ++n)
      for (int64_t k = x.indptr[n]; k < x.indptr[n + 1]; ++k) totals[n] += x.data[k];
    const models::RegviLibraryPrior lp =
        models::library_prior_of(totals, r.cells.library, r.cfg.n_library_cats, md.library_log_vars_weight, md.centering_sensitivity);
    const models::RegviNames nm = models::RegviNames::of(r.cfg, md);
    EXPECT_TRUE(close_to(lp.means, read_array(r.root.open("weights/" + nm.lib_means)), "library_log_means", 1e-5, 1e-6));
    EXPECT_TRUE(close_to(lp.vars, read_array(r.root.open("weights/" + nm.lib_vars)), "library_log_vars", 1e-5, 1e-6));
    EXPECT_NEAR(lp.global_log_mean, read_array(r.root.open("weights/" + nm.lib_global_mean)).v.at(0), 1e-5);
    EXPECT_NEAR(lp.log_sensitivity, read_array(r.root.open("weights/" + nm.lib_log_sens)).v.at(0), 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(Regularizedvi, RegviFixture, ::testing::ValuesIn(fixture_cases("regvi")),
                         [](const ::testing::TestParamInfo<FixtureCase>& i) { return i.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RegviFixture);

}  // namespace
}  // namespace cuvi::test
