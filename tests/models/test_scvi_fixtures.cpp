// Parity with scvi-tools (DESIGN.md decision 8): for every fixture in tests/fixtures/scvi, scvi-tools'
// own weights, inputs and recorded noise go through cuvi's SCVI module; the forward tensors, every
// loss term, every parameter gradient, the BatchNorm buffers and three Adam steps must match.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engine/optimizer.h"
#include "models/scvi/scvi_model.h"
#include "tests/models/parity_case.h"
#include "tests/models/parity_compare.h"

namespace cuvi::test {
namespace {

using models::ScviConfig;


ScviConfig config_of(const io::Node& root) {
  const io::Node c = root.open("config");
  ScviConfig cfg = c.attr_string("model").value() == "LinearSCVI" ? ScviConfig::linear_scvi() : ScviConfig();
  cfg.n_genes = c.attr_ints("n_input").at(0);
  cfg.n_batch = c.attr_ints("n_batch").at(0);
  cfg.n_labels = c.attr_ints("n_labels").at(0);
  cfg.n_hidden = c.attr_ints("n_hidden").at(0);
  cfg.n_latent = c.attr_ints("n_latent").at(0);
  cfg.n_layers = int(c.attr_ints("n_layers").at(0));
  cfg.dropout_rate = attr_double(c, "dropout_rate");
  cfg.dispersion = c.attr_string("dispersion").value();
  cfg.gene_likelihood = c.attr_string("gene_likelihood").value();
  cfg.latent_distribution = c.attr_string("latent_distribution").value();
  cfg.use_observed_lib_size = c.attr_ints("use_observed_lib_size").at(0) != 0;
  cfg.encode_covariates = c.attr_ints("encode_covariates").at(0) != 0;
  cfg.deeply_inject_covariates = c.attr_ints("deeply_inject_covariates").at(0) != 0;
  cfg.use_batch_norm = c.attr_string("use_batch_norm").value();
  cfg.use_layer_norm = c.attr_string("use_layer_norm").value();
  cfg.n_continuous_cov = c.attr_ints("n_continuous_cov").at(0);
  cfg.n_cats_per_cov = c.attr_ints("n_cats_per_cov");
  return cfg;
}

// fp32 comparison: the reference is torch's float32 forward; cuvi computes likelihood terms in double
// and accumulates in double, so the two differ by float32 rounding of each side. Elementwise
// tolerance 1e-4 relative plus 1e-5 of the tensor's mean magnitude (a floor for entries near zero).
class ScviFixture : public ::testing::TestWithParam<FixtureCase> {};

struct FixtureRun {
  std::unique_ptr<Backend> backend = make_cpu_backend(0, 2);
  io::Node root;
  ScviConfig cfg;
  std::unique_ptr<models::ScviModel> model;
  std::vector<float> x, cont;
  std::vector<int32_t> batch, labels, codes;
  int64_t N = 0, G = 0;

  explicit FixtureRun(const std::string& path) {
    root = io::Node::root(io::H5File::open_read(path));
    cfg = config_of(root);
    model = std::make_unique<models::ScviModel>(cfg);
    model->allocate(*backend, 0);
    load_weights("weights");
    const HostArray xa = read_array(root.open("data/x"));
    N = xa.shape[0];
    G = xa.shape[1];
    x = xa.v;
    for (float b : read_array(root.open("data/batch")).v) batch.push_back(int32_t(b));
    for (float l : read_array(root.open("data/labels")).v) labels.push_back(int32_t(l));
    std::vector<int32_t> cats;
    size_t n_cat = cfg.n_cats_per_cov.size();
    if (n_cat)
      for (float c : read_array(root.open("data/cat_covs")).v) cats.push_back(int32_t(c));
    if (cfg.n_continuous_cov) cont = read_array(root.open("data/cont_covs")).v;
    const models::CovariateLayout& l = model->module().layout();
    codes.resize(N * l.n_codes);
    for (int64_t i = 0; i < N; ++i) l.encode(batch[i], n_cat ? &cats[i * n_cat] : nullptr, &codes[i * l.n_codes]);
    StepScalars s;
    s.kl_weight = attr_double(root.open("config"), "kl_weight");
    s.lr = 1e-3;
    backend->write_scalars(s);
  }
  void load_weights(const std::string& group) { load_param_group(root, group, model->params()); }
  MiniBatch minibatch() {
    MiniBatch mb;
    mb.n = N;
    mb.x = Tensor(x.data(), DType::F32, Device::CPU, Shape{N, G});
    const int64_t J = model->module().layout().n_codes;
    if (J) mb.codes = Tensor(codes.data(), DType::I32, Device::CPU, Shape{N, J});
    mb.batch = Tensor(batch.data(), DType::I32, Device::CPU, Shape{N});
    mb.labels = Tensor(labels.data(), DType::I32, Device::CPU, Shape{N});
    if (!cont.empty()) mb.cont = Tensor(cont.data(), DType::F32, Device::CPU, Shape{N, cfg.n_continuous_cov});
    return mb;
  }
  models::NoiseSource noise(const std::string& group, std::vector<HostArray>& keep) {
    return recorded_noise(root, group, keep);
  }
};


TEST_P(ScviFixture, ForwardLossAndGradientsMatchScviTools) {
  FixtureRun r(GetParam().path);
  Arena arena(*r.backend, 64 << 20, "fixture");
  Tape tape(*r.backend, arena);
  tape.begin_step();
  std::vector<HostArray> keep;
  const models::NoiseSource ns = r.noise("noise", keep);
  models::Graph g{tape, r.model->params(), true, &ns};
  models::ScviForwardOptions fo;
  fo.want_px = true;  // px_scale, px_rate and theta next to the fused loss
  const models::ScviOutputs o = r.model->module().forward(g, r.model->inputs(tape, r.minibatch()), fo);
  auto fwd = [&](const char* name) { return read_array(r.root.open(std::string("forward/") + name)); };
  EXPECT_TRUE(close_to(host_values(tape, o.qz_m), fwd("qz_m"), "qz_m"));
  EXPECT_TRUE(close_to(host_values(tape, o.qz_v), fwd("qz_v"), "qz_v"));
  EXPECT_TRUE(close_to(host_values(tape, o.z), fwd("z"), "z"));
  EXPECT_TRUE(close_to(host_values(tape, o.library), fwd("library"), "library"));
  EXPECT_TRUE(close_to(host_values(tape, o.px_scale), fwd("px_scale"), "px_scale"));
  EXPECT_TRUE(close_to(host_values(tape, o.px_rate), fwd("px_rate"), "px_rate"));
  if (o.px_dropout != kNoTensor) {
    EXPECT_TRUE(close_to(host_values(tape, o.px_dropout), fwd("px_dropout"), "px_dropout"));
  }
  if (o.theta != kNoTensor) {
    std::vector<float> theta = host_values(tape, o.theta);
    if (int64_t(theta.size()) == r.G) {  // per-gene theta, broadcast like the fixture
      std::vector<float> b(r.N * r.G);
      for (int64_t i = 0; i < r.N * r.G; ++i) b[i] = theta[i % r.G];
      theta = b;
    }
    EXPECT_TRUE(close_to(theta, fwd("px_r"), "theta"));
  }
  if (!r.cfg.use_observed_lib_size) {
    EXPECT_TRUE(close_to(host_values(tape, o.ql_m), fwd("ql_m"), "ql_m"));
    EXPECT_TRUE(close_to(host_values(tape, o.ql_v), fwd("ql_v"), "ql_v"));
    EXPECT_TRUE(close_to(host_values(tape, o.kl_l), fwd("kl_l"), "kl_l"));
  }
  std::vector<float> rec = host_values(tape, o.log_lik);
  for (float& v : rec) v = -v;
  EXPECT_TRUE(close_to(rec, fwd("rec_loss"), "rec_loss"));
  EXPECT_TRUE(close_to(host_values(tape, o.kl_z), fwd("kl_z"), "kl_z"));
  EXPECT_TRUE(close_to(host_values(tape, o.loss), fwd("loss"), "loss"));

  // Gradients: the same set of parameters, the same values.
  tape.backward(o.loss);
  ParamStore& ps = r.model->params();
  std::set<std::string> ours, theirs;
  for (int id : tape.params_with_grad()) ours.insert(ps.entry(id).name);
  for (const std::string& k : r.root.open("grads").members()) theirs.insert(k);
  EXPECT_EQ(ours, theirs) << "parameters receiving a gradient differ from scvi-tools'";
  for (const std::string& k : theirs)
    if (ps.find(k) >= 0) expect_gradient_matches(ps, r.root, k);
  // BatchNorm running statistics after the training-mode forward (layers that ran).
  for (const std::string& k : r.root.open("buffers_after").members()) {
    const int id = ps.find(k);
    ASSERT_GE(id, 0) << "no buffer " << k;
    if (k.rfind("decoder.px_dropout_decoder", 0) == 0 && r.cfg.gene_likelihood != "zinb") continue;  // not evaluated
    EXPECT_TRUE(close_to(ps.get(id), read_array(r.root.open("buffers_after/" + k)), "buffer " + k));
  }
}

TEST_P(ScviFixture, ThreeAdamStepsMatchScviTools) {
  FixtureRun r(GetParam().path);
  Arena arena(*r.backend, 64 << 20, "fixture");
  Adam opt(*r.backend, r.model->params(), AdamConfig::scvi());
  const HostArray losses = read_array(r.root.open("steps/losses"));
  for (int k = 0; k < int(losses.v.size()); ++k) {
    Tape tape(*r.backend, arena);
    tape.begin_step();
    std::vector<HostArray> keep;
    const models::NoiseSource ns = r.noise("steps/" + std::to_string(k) + "/noise", keep);
    models::Graph g{tape, r.model->params(), true, &ns};
    const models::ScviOutputs o = r.model->module().forward(g, r.model->inputs(tape, r.minibatch()));
    EXPECT_NEAR(host_values(tape, o.loss)[0], losses.v[k], 1e-4 * std::fabs(losses.v[k])) << "loss of step " << k;
    tape.backward(o.loss);
    opt.set_used(tape.params_with_grad());
    opt.step();
  }
  ParamStore& ps = r.model->params();
  for (size_t id = 0; id < ps.entries().size(); ++id) {
    const ParamEntry& e = ps.entry(int(id));
    if (!e.trainable) continue;
    // After three updates of at most lr = 1e-3 each, parameters agree to 1e-4 relative + 1e-5.
    EXPECT_TRUE(close_to(ps.get(int(id)), read_array(r.root.open("steps/final/" + e.name)), "final " + e.name, 1e-4,
                      1e-4));
  }
}

INSTANTIATE_TEST_SUITE_P(ScviTools, ScviFixture, ::testing::ValuesIn(fixture_cases("scvi")),
                         [](const ::testing::TestParamInfo<FixtureCase>& i) { return i.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ScviFixture);

}  // namespace
}  // namespace cuvi::test
