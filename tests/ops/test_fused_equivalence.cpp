// The fused ops against the unfused ops they replace, on the CPU tape in double: fc_layer = linear -> batchnorm
// (or layernorm) -> relu -> mul(keep_mask_like), normal_latent = two linears -> exp + var_eps -> randn_like ->
// normal_rsample -> kl_normal, linear_pair = two linears; same values, gradients and running statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/arena.h"
#include "engine/tape.h"
#include "kernels/common/fc_layer.h"
#include "kernels/common/philox.h"

namespace cuvi {
namespace {

Backend& cpu() {
  static std::unique_ptr<Backend> b = make_cpu_backend(99, 1);
  return *b;
}

// Host tensors of one test: values and gradients, addressed by name; params get gradients on the tape.
struct Bank {
  std::map<std::string, std::vector<double>> v, g;
  std::map<std::string, Shape> s;
  std::map<std::string, std::vector<int32_t>> codes;
  void add(const std::string& name, Shape shape, double scale, uint32_t stream, double offset = 0) {
    s[name] = shape;
    v[name].resize(size_t(shape.numel()));
    for (size_t k = 0; k < v[name].size(); ++k) v[name][k] = offset + scale * philox_normal(7, 0, stream, k);
    g[name].assign(v[name].size(), 0.0);
  }
  Tensor t(const std::string& n) { return Tensor(v.at(n).data(), DType::F64, Device::CPU, s.at(n)); }
  Tensor gt(const std::string& n) { return Tensor(g.at(n).data(), DType::F64, Device::CPU, s.at(n)); }
};

// sum(w * y) over a projection w drawn from stream `st`.
TensorId project(Tape& tape, TensorId y, uint32_t st, std::vector<std::vector<double>>& keep) {
  const Tensor& yv = tape.value(y);
  keep.emplace_back(size_t(yv.numel()));
  for (size_t k = 0; k < keep.back().size(); ++k) keep.back()[k] = philox_normal(11, 0, st, k);
  const TensorId w = tape.input(Tensor(keep.back().data(), DType::F64, Device::CPU, yv.shape));
  return tape.apply1("sum_all", {tape.apply1("mul", {y, w})});
}

void expect_close(const std::vector<double>& a, const std::vector<double>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double scale = 0;
  for (double x : b) scale = std::max(scale, std::fabs(x));
  for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-12 * (1 + scale)) << what << " [" << k << "]";
}

struct Outcome {
  std::map<std::string, std::vector<double>> out, grad;
};

// One encoder-style layer: covariates, BatchNorm (training) or LayerNorm, ReLU, Philox dropout 0.2.
Outcome fc_run(bool fused, int norm) {
  const int64_t N = 9, K = 6, C = 2, M = 5;
  Bank b;
  b.add("x", {N, K}, 1.0, 1);
  b.add("w", {M, K + C}, 0.5, 2);
  b.add("b", {M}, 0.3, 3);
  b.add("gamma", {M}, 0.2, 4, 1.0);
  b.add("beta", {M}, 0.2, 5);
  b.add("rm", {M}, 0.1, 6);
  b.add("rv", {M}, 0.1, 7, 1.0);
  std::vector<int32_t> codes(N);
  for (int64_t n = 0; n < N; ++n) codes[n] = int32_t(n % 3) - 1;  // -1, 0, 1
  Arena arena(cpu(), 1 << 20, "test");
  Tape tape(cpu(), arena);
  tape.begin_step();
  int idx = 0;
  auto param = [&](const char* n) { return tape.param(b.t(n), b.gt(n), idx++); };
  const TensorId x = param("x"), w = param("w"), bias = param("b");
  const TensorId c = tape.input(Tensor(codes.data(), DType::I32, Device::CPU, Shape{N, 1}));
  const bool bn = norm == kFcNormBatch;
  TensorId gamma = kNoTensor, beta = kNoTensor, rm = kNoTensor, rv = kNoTensor;
  if (bn) {
    gamma = param("gamma");
    beta = param("beta");
    rm = tape.input(b.t("rm"));
    rv = tape.input(b.t("rv"));
  }
  const uint32_t stream = 4242;
  TensorId y;
  if (fused) {
    OpParams p;
    p.i[0] = norm;
    p.i[1] = kFcActRelu;
    p.i[2] = 1;
    p.i[3] = stream;
    p.f[0] = 0.2;
    p.f[1] = 0.1;
    p.f[2] = bn ? 1e-3 : 1e-5;
    p.f[3] = 0.01;
    y = tape.apply1("fc_layer", {x, w, bias, c, gamma, beta, rm, rv, kNoTensor}, p);
  } else {
    TensorId h = tape.apply1("linear", {x, w, bias, c});
    if (bn) {
      OpParams p;
      p.i[0] = 1;
      p.f[0] = 0.1;
      p.f[1] = 1e-3;
      h = tape.apply1("batchnorm", {h, gamma, beta, rm, rv}, p);
    } else {
      OpParams p;
      p.f[0] = 1e-5;
      h = tape.apply1("layernorm", {h, kNoTensor, kNoTensor, kNoTensor}, p);
    }
    h = tape.apply1("relu", {h});
    OpParams q;
    q.i[0] = stream;
    q.f[0] = 0.2;
    y = tape.apply1("mul", {h, tape.apply1("keep_mask_like", {h}, q)});
  }
  std::vector<std::vector<double>> keep;
  tape.backward(project(tape, y, 1, keep));
  Outcome r;
  const Tensor& yv = tape.value(y);
  r.out["y"].assign(yv.ptr<double>(), yv.ptr<double>() + yv.numel());
  r.out["rm"] = b.v["rm"];
  r.out["rv"] = b.v["rv"];
  for (const char* n : {"x", "w", "b", "gamma", "beta"}) r.grad[n] = b.g[n];
  return r;
}

TEST(FusedEquivalence, FcLayerEqualsLinearNormReluDropout) {
  for (int norm : {int(kFcNormBatch), int(kFcNormLayer)}) {
    const Outcome a = fc_run(true, norm), u = fc_run(false, norm);
    const std::string tag = norm == kFcNormBatch ? "batch norm: " : "layer norm: ";
    size_t dropped = 0;
    for (double v : a.out.at("y")) dropped += v == 0;
    EXPECT_GT(dropped, 0u) << tag << "some outputs are dropped or clipped";
    for (const auto& [k, v] : a.out) expect_close(v, u.out.at(k), tag + k);
    for (const auto& [k, v] : a.grad) expect_close(v, u.grad.at(k), tag + "d" + k);
  }
}

Outcome latent_run(bool fused) {
  const int64_t N = 7, H = 12, L = 4;
  Bank b;
  b.add("h", {N, H}, 1.0, 11);
  b.add("wm", {L, H}, 0.3, 12);
  b.add("bm", {L}, 0.3, 13);
  b.add("wv", {L, H}, 0.3, 14);
  b.add("bv", {L}, 0.3, 15);
  Arena arena(cpu(), 1 << 20, "test");
  Tape tape(cpu(), arena);
  tape.begin_step();
  int idx = 0;
  auto param = [&](const char* n) { return tape.param(b.t(n), b.gt(n), idx++); };
  const TensorId h = param("h"), wm = param("wm"), bm = param("bm"), wv = param("wv"), bv = param("bv");
  const uint32_t stream = 777;
  TensorId z, qm, qv, kl;
  if (fused) {
    OpParams p;
    p.f[0] = 1e-4;
    p.i[0] = stream;
    p.i[1] = 1;
    const std::vector<TensorId> o = tape.apply(op("normal_latent"), {h, wm, bm, wv, bv, kNoTensor}, p);
    z = o[0];
    qm = o[1];
    qv = o[2];
    kl = o[3];
  } else {
    qm = tape.apply1("linear", {h, wm, bm, kNoTensor});
    OpParams e;
    e.f[0] = 1e-4;
    qv = tape.apply1("exp", {tape.apply1("linear", {h, wv, bv, kNoTensor})}, e);
    OpParams r;
    r.i[0] = stream;
    z = tape.apply1("normal_rsample", {qm, qv, tape.apply1("randn_like", {qm}, r)});
    kl = tape.apply1("kl_normal", {qm, qv, kNoTensor, kNoTensor});
  }
  std::vector<std::vector<double>> keep;
  const TensorId loss = tape.apply1(
      "add", {tape.apply1("add", {project(tape, z, 1, keep), project(tape, kl, 2, keep)}),
              tape.apply1("add", {project(tape, qm, 3, keep), project(tape, qv, 4, keep)})});
  tape.backward(loss);
  Outcome out;
  for (auto [name, id] : {std::pair<const char*, TensorId>{"z", z}, {"qm", qm}, {"qv", qv}, {"kl", kl}}) {
    const Tensor& t = tape.value(id);
    out.out[name].assign(t.ptr<double>(), t.ptr<double>() + t.numel());
  }
  for (const char* n : {"h", "wm", "bm", "wv", "bv"}) out.grad[n] = b.g[n];
  return out;
}

TEST(FusedEquivalence, NormalLatentEqualsHeadsExpRsampleKl) {
  const Outcome a = latent_run(true), u = latent_run(false);
  for (const auto& [k, v] : a.out) expect_close(v, u.out.at(k), k);
  // exp's backward uses y - var_eps, the fused op exp(raw) itself: equal up to that rounding.
  for (const auto& [k, v] : a.grad) expect_close(v, u.grad.at(k), "d" + k);
}

}  // namespace
}  // namespace cuvi
