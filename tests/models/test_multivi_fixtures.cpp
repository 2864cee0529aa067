// Parity with scvi-tools' MULTIVI (DESIGN.md decision 8; scvi-multivi.md §2): for every fixture in
// tests/fixtures/multivi (paired-only and mixed paired/RNA-only/ATAC-only cells; zinb, nb, poisson;
// with and without batch; modality weights and penalties; covariates), scvi-tools' weights, inputs and
// recorded noise go through cuvi's MULTIVI module and adversarial training step: forward tensors, every
// loss term, the fooling and classifier losses, the gradients of both optimizers' objectives, the
// BatchNorm buffers and three AdamW + Adam steps must match.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engine/optimizer_set.h"
#include "models/multivi/multivi_model.h"
#include "tests/models/parity_case.h"
#include "tests/models/parity_compare.h"

namespace cuvi::test {
namespace {

using models::MultiviConfig;


MultiviConfig config_of(const io::Node& root) {
  const io::Node c = root.open("config");
  MultiviConfig cfg;
  auto i = [&](const char* k) { return c.attr_ints(k).at(0); };
  auto s = [&](const char* k) { return c.attr_string(k).value(); };
  cfg.n_genes = i("n_genes");
  cfg.n_regions = i("n_regions");
  cfg.n_batch = i("n_batch");
  cfg.n_obs = i("n_obs");
  cfg.n_hidden = i("n_hidden");
  cfg.n_latent = i("n_latent");
  cfg.n_layers_encoder = int(i("n_layers_encoder"));
  cfg.n_layers_decoder = int(i("n_layers_decoder"));
  cfg.dropout_rate = attr_double(c, "dropout_rate");
  cfg.region_factors = i("region_factors") != 0;
  cfg.gene_likelihood = s("gene_likelihood");
  cfg.dispersion = s("dispersion");
  cfg.use_batch_norm = s("use_batch_norm");
  cfg.use_layer_norm = s("use_layer_norm");
  cfg.latent_distribution = s("latent_distribution");
  cfg.deeply_inject_covariates = i("deeply_inject_covariates") != 0;
  cfg.encode_covariates = i("encode_covariates") != 0;
  cfg.modality_weights = s("modality_weights");
  cfg.modality_penalty = s("modality_penalty");
  cfg.n_continuous_cov = i("n_continuous_cov");
  cfg.n_cats_per_cov = c.attr_ints("n_cats_per_cov");
  cfg.scale_adversarial_loss = attr_double(c, "scale_adversarial_loss");
  cfg.resolve();
  return cfg;
}

// scvi-tools' modules that cuvi's MULTIVI leaves out: the protein branch (no protein modality here).
// Its encoder enters the joint posterior with weight 1e-30 / (2e + ...) in scvi-tools, so its
// gradients are ~1e-16 of the others: present in the fixture, numerically zero.
bool protein_branch(const std::string& name) {
  return name.rfind("z_encoder_protein.", 0) == 0 || name.rfind("z_decoder_pro.", 0) == 0 ||
         name.rfind("background_pro_", 0) == 0 || name == "py_r";
}

struct FixtureRun {
  std::unique_ptr<Backend> backend = make_cpu_backend(0, 2);
  io::Node root;
  MultiviConfig cfg;
  std::unique_ptr<models::MultiviModel> model;
  std::vector<float> x, cont;
  std::vector<int32_t> batch, codes, cells;
  int64_t N = 0;

  explicit FixtureRun(const std::string& path) {
    root = io::Node::root(io::H5File::open_read(path));
    cfg = config_of(root);
    model = std::make_unique<models::MultiviModel>(cfg);
    model->allocate(*backend, 0);
    model->set_weight_decay(attr_double(root.open("config"), "weight_decay"));
    load_weights("weights");
    const HostArray xa = read_array(root.open("data/x"));
    N = xa.shape[0];
    x = xa.v;
    for (float b : read_array(root.open("data/batch")).v) batch.push_back(int32_t(b));
    std::vector<int32_t> cats;
    const size_t n_cat = cfg.n_cats_per_cov.size();
    if (n_cat)
      for (float c : read_array(root.open("data/cat_covs")).v) cats.push_back(int32_t(c));
    if (cfg.n_continuous_cov) cont = read_array(root.open("data/cont_covs")).v;
    const models::CovariateLayout& l = model->module().layout();
    codes.resize(N * l.n_codes);
    for (int64_t i = 0; i < N; ++i) l.encode(batch[i], n_cat ? &cats[i * n_cat] : nullptr, &codes[i * l.n_codes]);
    for (int64_t i = 0; i < N; ++i) cells.push_back(int32_t(i));
    StepScalars s;
    s.kl_weight = attr_double(root.open("config"), "kl_weight");
    s.lr = attr_double(root.open("config"), "vae_lr");
    backend->write_scalars(s);
  }
  void load_weights(const std::string& group) { load_param_group(root, group, model->params()); }
  MiniBatch minibatch() {
    MiniBatch mb;
    mb.n = N;
    mb.x = Tensor(x.data(), DType::F32, Device::CPU, Shape{N, cfg.n_genes + cfg.n_regions});
    const int64_t J = model->module().layout().n_codes;
    if (J) mb.codes = Tensor(codes.data(), DType::I32, Device::CPU, Shape{N, J});
    mb.batch = Tensor(batch.data(), DType::I32, Device::CPU, Shape{N});
    mb.labels = mb.batch;
    mb.rows = Tensor(cells.data(), DType::I32, Device::CPU, Shape{N});
    if (!cont.empty()) mb.cont = Tensor(cont.data(), DType::F32, Device::CPU, Shape{N, cfg.n_continuous_cov});
    return mb;
  }
  models::NoiseSource noise(const std::string& group, std::vector<HostArray>& keep) {
    return recorded_noise(root, group, keep);
  }
};


// fp32 against torch's fp32: 1e-4 relative plus 1e-5 of the tensor's mean magnitude.
class MultiviFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(MultiviFixture, ForwardLossesAndGradientsMatchScviTools) {
  FixtureRun r(GetParam().path);
  Arena arena(*r.backend, 64 << 20, "fixture");
  Tape tape(*r.backend, arena);
  tape.begin_step();
  std::vector<HostArray> keep;
  const models::NoiseSource ns = r.noise("noise", keep);
  models::Graph g{tape, r.model->params(), true, &ns};
  const MiniBatch mb = r.minibatch();
  const models::MultiviModel::StepParts s = r.model->step(g, r.model->inputs(tape, mb), tape.input(mb.batch));
  const models::MultiviOutputs& o = s.vae;
  auto fwd = [&](const char* name) { return read_array(r.root.open(std::string("forward/") + name)); };
  for (auto [id, name] : std::vector<std::pair<TensorId, const char*>>{
           {o.qzm_expr, "qzm_expr"}, {o.qzv_expr, "qzv_expr"}, {o.qzm_acc, "qzm_acc"}, {o.qzv_acc, "qzv_acc"},
           {o.qz_m, "qz_m"}, {o.qz_v, "qz_v"}, {o.z, "z"}, {o.libsize_expr, "libsize_expr"},
           {o.libsize_acc, "libsize_acc"}, {o.p, "p"}, {o.px_scale, "px_scale"}, {o.px_rate, "px_rate"},
           {o.theta, "px_r"}, {o.rec_expr, "rec_expr"}, {o.rec_acc, "rec_acc"}, {o.kl_z, "kl_z"}, {o.loss, "loss"}})
    EXPECT_TRUE(close_to(host_values(tape, id), fwd(name), name));
  if (o.px_dropout != kNoTensor) {
    EXPECT_TRUE(close_to(host_values(tape, o.px_dropout), fwd("px_dropout"), "px_dropout"));
  }
  if (o.kl_paired != kNoTensor) {
    EXPECT_TRUE(close_to(host_values(tape, o.kl_paired), fwd("kl_paired"), "kl_paired"));
  } else {
    for (float v : fwd("kl_paired").v) EXPECT_EQ(v, 0.f);
  }
  ASSERT_EQ(s.fool_loss != kNoTensor, r.cfg.adversarial_classifier());
  if (s.fool_loss != kNoTensor) {
    EXPECT_TRUE(close_to(host_values(tape, s.fool_loss), fwd("fool_loss"), "fool_loss"));
    EXPECT_TRUE(close_to(host_values(tape, s.classifier_loss), fwd("classifier_loss"), "classifier_loss"));
  }
  EXPECT_TRUE(close_to(host_values(tape, s.loss), fwd("total"), "loss + fool_loss"));

  // Gradients: the VAE objective's for the module, the classifier loss's for the classifier.
  tape.backward(s.objective);
  ParamStore& ps = r.model->params();
  std::set<std::string> ours, theirs;
  for (int id : tape.params_with_grad()) ours.insert(ps.entry(id).name);
  double max_grad = 0;
  for (const std::string& k : r.root.open("grads").members())
    for (float v : read_array(r.root.open("grads/" + k)).v) max_grad = std::max(max_grad, double(std::fabs(v)));
  for (const std::string& k : r.root.open("grads").members()) {
    if (!protein_branch(k)) {
      theirs.insert(k);
      continue;
    }
    for (float v : read_array(r.root.open("grads/" + k)).v)
      EXPECT_LT(std::fabs(v), 1e-10 * max_grad) << k << ": the protein branch must be numerically inert";
  }
  EXPECT_EQ(ours, theirs) << "parameters receiving a gradient differ from scvi-tools'";
  for (const std::string& k : theirs)
    if (ps.find(k) >= 0) expect_gradient_matches(ps, r.root, k);
  // BatchNorm running statistics after the step's forward passes (the classifier runs twice).
  for (const std::string& k : r.root.open("buffers_after").members()) {
    if (protein_branch(k)) continue;
    const int id = ps.find(k);
    ASSERT_GE(id, 0) << "no buffer " << k;
    EXPECT_TRUE(close_to(ps.get(id), read_array(r.root.open("buffers_after/" + k)), "buffer " + k));
  }
}

TEST_P(MultiviFixture, ThreeAdversarialStepsMatchScviTools) {
  FixtureRun r(GetParam().path);
  Arena arena(*r.backend, 64 << 20, "fixture");
  AdamConfig vae = AdamConfig::multivi();
  vae.lr = attr_double(r.root.open("config"), "vae_lr");
  vae.weight_decay = attr_double(r.root.open("config"), "weight_decay");
  vae.eps = attr_double(r.root.open("config"), "eps");
  OptimizerSet opt(*r.backend, r.model->params(), vae, r.model->extra_optimizers());
  const HostArray losses = read_array(r.root.open("steps/losses"));
  for (int k = 0; k < int(losses.v.size()); ++k) {
    Tape tape(*r.backend, arena);
    tape.begin_step();
    std::vector<HostArray> keep;
    const models::NoiseSource ns = r.noise("steps/" + std::to_string(k) + "/noise", keep);
    models::Graph g{tape, r.model->params(), true, &ns};
    const MiniBatch mb = r.minibatch();
    const auto s = r.model->step(g, r.model->inputs(tape, mb), tape.input(mb.batch));
    EXPECT_NEAR(host_values(tape, s.loss)[0], losses.v[k], 1e-4 * std::fabs(losses.v[k])) << "loss of step " << k;
    tape.backward(s.objective);
    opt.step(tape.params_with_grad());
  }
  EXPECT_EQ(r.backend->read_scalars().step, int64_t(losses.v.size()));
  ParamStore& ps = r.model->params();
  for (size_t id = 0; id < ps.entries().size(); ++id) {
    const ParamEntry& e = ps.entry(int(id));
    // A bias feeding training-mode BatchNorm has an exactly zero gradient, so both sides hold rounding
    // noise, which AdamW's eps 1e-8 turns into steps of +-lr in either direction; the forward pass is
    // invariant to that bias and BatchNorm's running mean carries 0.01 of it. Neither is comparable;
    // the layer's weight, its running variance and every later tensor are.
    const std::string& n = e.name;
    const size_t last = n.find_last_of('.');
    const std::string layer = last == std::string::npos || last == 0 ? n : n.substr(0, n.find_last_of('.', last - 1));
    const bool bn_layer = ps.find(layer + ".1.running_mean") >= 0;
    if (bn_layer && (n == layer + ".0.bias" || n == layer + ".1.running_mean")) continue;
    // After three updates of at most lr each, parameters and buffers agree to 1e-4 relative + 1e-4.
    EXPECT_TRUE(close_to(ps.get(int(id)), read_array(r.root.open("steps/final/" + e.name)), "final " + e.name, 1e-4,
                      1e-4));
  }
}

INSTANTIATE_TEST_SUITE_P(ScviTools, MultiviFixture, ::testing::ValuesIn(fixture_cases("multivi")),
                         [](const ::testing::TestParamInfo<FixtureCase>& i) { return i.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(MultiviFixture);

}  // namespace
}  // namespace cuvi::test
