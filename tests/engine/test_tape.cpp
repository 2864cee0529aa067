// The tape in double precision: the full gradient of a small two-layer VAE with an NB likelihood equals
// central finite differences; several consumers accumulate; detach stops a gradient; reshape views
// share their source's gradient; planning measures exactly the memory a real step uses.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/arena.h"
#include "engine/tape.h"
#include "kernels/common/philox.h"

namespace cuvi {
namespace {

struct Param {
  std::vector<double> value, grad;
  Shape shape;
  int index;
};

class TinyVae {
 public:
  // x (N, G) counts -> encoder Linear(G, H) + ReLU + Linear(H, 2L) -> (m, log v) -> z = m + sqrt(v) eps
  // -> decoder Linear(L, H) + ReLU + Linear(H, G) -> softmax * library -> NB(x; mu, theta = exp(r)).
  int64_t N = 5, G = 7, H = 4, L = 2;
  std::vector<Param> params;
  std::vector<double> x, eps;

  TinyVae() {
    auto add = [&](Shape s) {
      Param p;
      p.shape = s;
      p.index = int(params.size());
      p.value.resize(s.numel());
      p.grad.assign(s.numel(), 0.0);
      for (size_t k = 0; k < p.value.size(); ++k) p.value[k] = 0.6 * philox_normal(3, 0, uint32_t(p.index), k);
      params.push_back(p);
    };
    add({H, G});      // encoder W1
    add({H});         // b1
    add({2 * L, H});  // heads (mean | raw variance)
    add({2 * L});
    add({H, L});      // decoder W3
    add({H});
    add({G, H});      // px_scale head
    add({G});
    add({G});         // px_r
    for (int64_t i = 0; i < N * G; ++i) x.push_back(double((i * 37) % 9 == 0 ? 0 : (i * 11) % 6));
    for (int64_t i = 0; i < N * L; ++i) eps.push_back(philox_normal(5, 0, 0, i));
  }

  TensorId p(Tape& t, int i) {
    Param& q = params[i];
    return t.param(Tensor(q.value.data(), DType::F64, Device::CPU, q.shape),
                   Tensor(q.grad.data(), DType::F64, Device::CPU, q.shape), i);
  }

  TensorId loss(Tape& t) {
    const TensorId xi = t.input(Tensor(x.data(), DType::F64, Device::CPU, Shape{N, G}));
    const TensorId e = t.input(Tensor(eps.data(), DType::F64, Device::CPU, Shape{N, L}));
    const TensorId h = t.apply1("relu", {t.apply1("linear", {t.apply1("log1p", {xi}), p(t, 0), p(t, 1), kNoTensor})});
    const TensorId heads = t.apply1("linear", {h, p(t, 2), p(t, 3), kNoTensor});
    OpParams first, second;
    first.i[1] = L;
    second.i[0] = L;
    second.i[1] = L;
    const TensorId m = t.apply1("slice_cols", {heads}, first);
    OpParams var_eps;
    var_eps.f[0] = 1e-4;
    const TensorId v = t.apply1("exp", {t.apply1("slice_cols", {heads}, second)}, var_eps);
    const TensorId z = t.apply1("normal_rsample", {m, v, e});
    const TensorId hd = t.apply1("relu", {t.apply1("linear", {z, p(t, 4), p(t, 5), kNoTensor})});
    const TensorId scale = t.apply1("softmax_rows", {t.apply1("linear", {hd, p(t, 6), p(t, 7), kNoTensor})});
    const TensorId lib = t.reshape(t.apply1("sum_rows", {xi}), Shape{N, 1});
    const TensorId mu = t.apply1("mul", {scale, lib});
    const TensorId ll = t.apply1("nb_log_prob", {xi, mu, t.apply1("exp", {p(t, 8)})});
    const TensorId kl = t.apply1("kl_normal", {m, v, kNoTensor, kNoTensor});
    // m feeds the head slice, rsample and the KL: its gradient accumulates over consumers.
    return t.apply1("mean_all", {t.apply1("sub", {kl, ll})});
  }

  double value() {
    auto b = make_cpu_backend(0, 1);
    Arena a(*b, 1 << 20, "tape");
    Tape t(*b, a);
    t.begin_step();
    return t.value(loss(t)).ptr<double>()[0];
  }
};

TEST(Tape, TwoLayerNbVaeGradientEqualsFiniteDifferences) {
  TinyVae vae;
  auto b = make_cpu_backend(0, 1);
  Arena a(*b, 1 << 20, "tape");
  Tape t(*b, a);
  t.begin_step();
  t.backward(vae.loss(t));
  EXPECT_EQ(t.params_with_grad().size(), vae.params.size());
  int checked = 0;
  for (Param& q : vae.params)
    for (size_t k = 0; k < q.value.size(); ++k) {
      const double v0 = q.value[k], h = 1e-6 * std::max(1.0, std::fabs(v0));
      q.value[k] = v0 + h;
      const double lp = vae.value();
      q.value[k] = v0 - h;
      const double lm = vae.value();
      q.value[k] = v0;
      const double fd = (lp - lm) / (2 * h);
      ASSERT_NEAR(q.grad[k], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << "param " << q.index << "[" << k << "]";
      ++checked;
    }
  EXPECT_GT(checked, 100);
}

TEST(Tape, DetachStopsGradientsAndReshapeSharesThem) {
  auto b = make_cpu_backend(0, 1);
  Arena a(*b, 1 << 16, "tape");
  Tape t(*b, a);
  t.begin_step();
  std::vector<double> w{1.5, -2.0, 0.25}, gw(3, 0.0);
  const TensorId wp = t.param(Tensor(w.data(), DType::F64, Device::CPU, Shape{3}),
                              Tensor(gw.data(), DType::F64, Device::CPU, Shape{3}), 0);
  // loss = sum(w * w_detached) + sum(reshape(w) (1,3)) -> dloss/dw = w_detached + 1
  const TensorId y = t.apply1("mul", {t.reshape(wp, Shape{1, 3}), t.reshape(t.detach(wp), Shape{1, 3})});
  const TensorId loss = t.apply1("add", {t.apply1("sum_all", {y}), t.apply1("sum_all", {t.reshape(wp, Shape{3, 1})})});
  t.backward(loss);
  for (int k = 0; k < 3; ++k) EXPECT_DOUBLE_EQ(gw[k], w[k] + 1.0);
  EXPECT_FALSE(t.grad(t.detach(wp)).defined());
}

TEST(Tape, PlanningMeasuresTheMemoryOfARealStep) {
  TinyVae vae;
  auto b = make_cpu_backend(0, 1);
  Arena plan = Arena::measuring(Device::CPU, "plan");
  Tape tp(*b, plan);
  tp.begin_step();
  tp.backward(vae.loss(tp));
  Arena real(*b, plan.high_water(), "exact");  // exactly the planned bytes must suffice
  Tape tr(*b, real);
  tr.begin_step();
  tr.backward(vae.loss(tr));
  EXPECT_EQ(real.high_water(), plan.high_water());
}

}  // namespace
}  // namespace cuvi
