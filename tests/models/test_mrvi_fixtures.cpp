// Parity with scvi-tools' torch MRVI (DESIGN.md decision 8; spec/mrvi.md §7.11): for every case and
// variant in tests/fixtures/mrvi, scvi-tools' weights, data and recorded noise (u and eps draws,
// attention-dropout masks) go through cuvi's MRVI module; forward tensors, loss terms, every parameter
// gradient, an eval-mode forward and K optimizer steps with MRVI's optimizer must match.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "engine/optimizer.h"
#include "kernels/common/adam.h"
#include "tests/models/mrvi_fixture.h"
#include "tests/models/parity_compare.h"

namespace cuvi::test {
namespace {

struct Case {
  std::string name, path, variant;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> cases() {
  std::vector<Case> v;
  const std::string dir = fixture_dir("mrvi");
  if (!std::filesystem::exists(dir)) return v;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".h5") continue;
    const io::Node root = io::Node::root(io::H5File::open_read(e.path().string()));
    for (const std::string& variant : root.open("variants").members())
      v.push_back({e.path().stem().string() + "_" + variant, e.path().string(), variant});
  }
  std::sort(v.begin(), v.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return v;
}

std::vector<float> host(const Tape& t, TensorId id) {
  const Tensor& v = t.value(id);
  const float* p = v.ptr<float>();
  return std::vector<float>(p, p + v.numel());
}

// Forward tensors: torch float32 vs cuvi float32 with double accumulation; 1e-4 relative plus 1e-5 of the
// tensor's mean magnitude. Gradients sum over cells, genes and attention tokens: 1e-3 plus 1e-4.
constexpr double kFwdRtol = 1e-4, kFwdAtol = 1e-5, kGradRtol = 1e-3, kGradAtol = 1e-4;

bool is_key_bias(const std::string& name) {
  const std::string tail = "attention_block.k_proj.bias";
  return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
}

class MrviParity : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& c = GetParam();
    const io::Node root = io::Node::root(io::H5File::open_read(c.path));
    const io::Node v = root.open("variants/" + c.variant);
    label_prior = v.attr_string("label_prior").value();
    labels_2d = v.attr_ints("labels_2d").at(0) != 0;
    clip = attr_double(v, "clip");
    fx = std::make_unique<MrviFixture>(c.path, label_prior);
    var = fx->root.open("variants/" + c.variant);
    StepScalars s;
    s.kl_weight = attr_double(fx->root.open("config"), "kl_weight");
    fx->backend->write_scalars(s);
  }
  std::string label_prior;
  bool labels_2d = true;
  double clip = 0;
  std::unique_ptr<MrviFixture> fx;
  io::Node var;
};

TEST_P(MrviParity, ForwardLossAndGradientsMatchScviTools) {
  if (!var.has("forward")) GTEST_SKIP() << "variant shares its first forward with 'main'";
  Arena arena(*fx->backend, 64 << 20, "fixture");
  Tape tape(*fx->backend, arena);
  tape.begin_step();
  std::vector<HostArray> keep;
  const models::NoiseSource ns = fx->noise(var.open("noise"), keep);
  models::Graph g{tape, fx->model->params(), true, &ns};
  const models::MrviOutputs o = fx->model->module().forward(g, fx->model->inputs(tape, fx->minibatch()));
  auto ref = [&](const std::string& name) { return read_array(var.open("forward/" + name)); };
  auto check = [&](TensorId id, const char* name) { EXPECT_TRUE(close_to(host(tape, id), ref(name), name, kFwdRtol, kFwdAtol)); };
  check(o.qu_mean, "qu_mean");
  check(o.qu_scale, "qu_scale");
  check(o.u, "u");
  check(o.z_base, "z_base");
  check(o.eps, "eps");
  check(o.z, "z");
  check(o.library, "library");
  check(o.h, "h");
  check(o.px_rate, "px_rate");
  if (o.qeps_loc != kNoTensor) {
    check(o.qeps_loc, "qeps_loc");
    check(o.qeps_scale, "qeps_scale");
  }
  std::vector<float> rec = host(tape, o.log_lik);
  for (float& r : rec) r = -r;
  EXPECT_TRUE(close_to(rec, ref("rec_loss"), "rec_loss", kFwdRtol, kFwdAtol));
  check(o.kl_u, "kl_u");
  EXPECT_EQ(o.kl_z != kNoTensor, var.has("forward/kl_z"));
  if (o.kl_z != kNoTensor) check(o.kl_z, "kl_z");
  check(o.loss, "loss");

  tape.backward(o.loss);
  ParamStore& ps = fx->model->params();
  const auto grads = read_table(var.open("grads"));
  std::set<std::string> ours, theirs;
  for (int id : tape.params_with_grad()) ours.insert(ps.entry(id).name);
  for (const auto& [k, v] : grads) theirs.insert(k);
  EXPECT_EQ(ours, theirs) << "parameters receiving a gradient differ from scvi-tools'";
  auto grad_of = [&](int id) {
    const Tensor gt = ps.grad(id);
    return std::vector<float>(gt.ptr<float>(), gt.ptr<float>() + gt.numel());
  };
  for (const auto& [k, ref_grad] : grads) {
    const int id = ps.find(k);
    if (id < 0) continue;
    const std::vector<float> got = grad_of(id);
    if (is_key_bias(k)) {
      // The key bias shifts every logit of a query row by the same amount, which the softmax removes:
      // its gradient is exactly zero. cuvi writes 0; torch holds rounding noise, which must be tiny next
      // to the gradient of the key kernel.
      const std::string kernel = k.substr(0, k.size() - 4) + "kernel";
      double rms = 0;
      for (float v : grads.at(kernel)) rms += double(v) * v;
      rms = std::sqrt(rms / double(grads.at(kernel).size()));
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i], 0.f) << k << "[" << i << "]";
        EXPECT_LT(std::fabs(ref_grad[i]), 1e-4 * rms) << k << "[" << i << "] (scvi-tools)";
      }
      continue;
    }
    EXPECT_TRUE(close_to(got, ref_grad, "grad " + k, kGradRtol, kGradAtol));
  }
}

TEST_P(MrviParity, EvalForwardWithMeansMatchesScviTools) {
  if (!var.has("eval")) GTEST_SKIP() << "variant shares its first forward with 'main'";
  Arena arena(*fx->backend, 64 << 20, "fixture");
  Tape tape(*fx->backend, arena);
  tape.begin_step();
  models::Graph g{tape, fx->model->params(), false, nullptr};
  models::MrviForwardOptions opt;
  opt.use_mean = true;
  opt.compute_loss = false;
  const models::MrviOutputs o = fx->model->module().forward(g, fx->model->inputs(tape, fx->minibatch()), opt);
  EXPECT_TRUE(close_to(host(tape, o.u), read_array(var.open("eval/u")), "u", kFwdRtol, kFwdAtol));
  EXPECT_TRUE(close_to(host(tape, o.z), read_array(var.open("eval/z")), "z", kFwdRtol, kFwdAtol));
  EXPECT_TRUE(close_to(host(tape, o.h), read_array(var.open("eval/h")), "h", kFwdRtol, kFwdAtol));
}

TEST_P(MrviParity, OptimizerStepsMatchScviTools) {
  Arena arena(*fx->backend, 64 << 20, "fixture");
  AdamConfig ac = AdamConfig::mrvi();
  ac.clip_norm = clip;
  Adam opt(*fx->backend, fx->model->params(), ac);
  const HostArray losses = read_array(var.open("steps/losses"));
  const HostArray norms = read_array(var.open("steps/grad_norms"));
  const int K = int(norms.v.size());
  bool clipped = false;
  for (int k = 0; k <= K; ++k) {
    Tape tape(*fx->backend, arena);
    tape.begin_step();
    std::vector<HostArray> keep;
    const models::NoiseSource ns =
        fx->noise(var.open("steps/" + (k < K ? std::to_string(k) : std::string("after")) + "/noise"), keep);
    models::Graph g{tape, fx->model->params(), true, &ns};
    const models::MrviOutputs o = fx->model->module().forward(g, fx->model->inputs(tape, fx->minibatch()));
    // Losses sum over cells and genes after up to K updates of lr 2e-3: 1e-4 relative.
    EXPECT_NEAR(host(tape, o.loss)[0], losses.v[k], 1e-4 * std::fabs(losses.v[k])) << "loss before step " << k;
    if (k == K) break;
    tape.backward(o.loss);
    opt.set_used(tape.params_with_grad());
    opt.step();
    const double norm = fx->backend->read_scalars().grad_norm;
    EXPECT_NEAR(norm, norms.v[k], 1e-3 * norms.v[k]) << "global gradient norm of step " << k;
    clipped = clipped || norm > clip;
  }
  if (clip < 1) {
    EXPECT_TRUE(clipped) << "the clipped variant must exercise clipping";
  }
  if (!var.has("steps/final")) return;
  const auto final = read_table(var.open("steps/final"));
  const auto initial = read_table(fx->root.open("weights"));
  ParamStore& ps = fx->model->params();
  for (const auto& [k, ref] : final) {
    const int id = ps.find(k);
    ASSERT_GE(id, 0) << k;
    if (is_key_bias(k)) {
      // torch's Adam normalises the rounding noise of this zero gradient into lr-sized steps; cuvi's
      // gradient is exactly 0, so only the coupled weight decay moves it (Adam normalises 1e-8 * p too).
      // The parameter does not affect the output; its trajectory is Adam's on g = 0.
      std::vector<float> p = initial.at(k), m(p.size(), 0.f), v(p.size(), 0.f);
      for (int t = 1; t <= K; ++t) {
        const AdamConstants c = adam_constants(ac.lr, ac.beta1, ac.beta2, ac.eps, ac.weight_decay, false, t, 1.0);
        for (size_t i = 0; i < p.size(); ++i) adam_update(c, p[i], 0.f, m[i], v[i]);
      }
      EXPECT_TRUE(close_to(ps.get(id), p, "final " + k + " (Adam on a zero gradient)", 1e-6, 0));
      continue;
    }
    // Adam moves every parameter by about lr per step whatever its gradient's size, so an update direction
    // accurate to the gradients' 1e-3 gives 1e-3 * K * lr absolute; plus 1e-4 relative for the values.
    EXPECT_TRUE(close_to(ps.get(id), ref, "final " + k, 1e-4, 0, kGradRtol * K * ac.lr));
  }
}

INSTANTIATE_TEST_SUITE_P(ScviTools, MrviParity, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(MrviParity);

}  // namespace
}  // namespace cuvi::test
