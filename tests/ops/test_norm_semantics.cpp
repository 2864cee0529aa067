// Semantics of batchnorm and layernorm beyond the registry sweep: torch BatchNorm1d statistics, running-stat
// update, eval mode and the one-row training error (spec scvi-multivi.md §0); LayerNorm defaults and MRVI's
// ConditionalNormalization = LayerNorm without affine, then gamma[s], beta[s] (spec mrvi.md §1).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/fc_layer.h"
#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

Backend& cpu() {
  static std::unique_ptr<Backend> b = make_cpu_backend(1234, 2);
  return *b;
}

HostTensor host(const Shape& s, std::vector<double> v, DType t = DType::F32) {
  HostTensor h;
  h.present = true;
  h.dtype = t;
  h.shape = s;
  h.v = std::move(v);
  EXPECT_EQ(int64_t(h.v.size()), s.numel());
  return h;
}
HostTensor none() { return HostTensor{}; }

TestCase params_case(const std::string& label, const OpParams& p) {
  TestCase tc;
  tc.label = label;
  tc.p = p;
  return tc;
}

OpParams bn_params(int64_t training, double momentum, double eps) {
  OpParams p;
  p.i[0] = training;
  p.f[0] = momentum;
  p.f[1] = eps;
  return p;
}

// x (3, 2): column 0 = {1, 3, 5} (mean 3, biased var 8/3, unbiased 4); column 1 = {2, 6, 10} (6, 32/3, 16).
struct BnExample {
  std::vector<HostTensor> in = {host({3, 2}, {1, 2, 3, 6, 5, 10}), host({2}, {1.5, -0.5}), host({2}, {0.25, 1.0}),
                                host({2}, {0.0, 1.0}), host({2}, {1.0, 2.0})};
  const double mean[2] = {3.0, 6.0};
  const double biased_var[2] = {8.0 / 3.0, 32.0 / 3.0};
  const double unbiased_var[2] = {4.0, 16.0};
};

TEST(BatchNormSemantics, TrainingNormalisesWithBatchStatsAndUpdatesRunningStatsLikeTorch) {
  const BnExample ex;
  const double momentum = 0.1, eps = 1e-3;
  for (DType t : {DType::F64, DType::F32}) {
    const double tol = t == DType::F64 ? 1e-12 : 2e-6;
    const RunResult r = run_op(cpu(), op("batchnorm"), params_case("hand", bn_params(1, momentum, eps)), ex.in, t);
    ASSERT_TRUE(r.guards_intact) << r.guard_report;
    ASSERT_EQ(r.aux.size(), 4u);  // mean, inverse std, then the two mutated running statistics
    for (int f = 0; f < 2; ++f) {
      const double rstd = 1.0 / std::sqrt(ex.biased_var[f] + eps);
      EXPECT_NEAR(r.aux[0].v[f], ex.mean[f], tol);
      EXPECT_NEAR(r.aux[1].v[f], rstd, tol);
      // torch: running_mean = (1 - m) rm + m mean; running_var = (1 - m) rv + m * unbiased var
      EXPECT_NEAR(r.aux[2].v[f], (1 - momentum) * ex.in[3].v[f] + momentum * ex.mean[f], tol);
      EXPECT_NEAR(r.aux[3].v[f], (1 - momentum) * ex.in[4].v[f] + momentum * ex.unbiased_var[f], tol);
      for (int n = 0; n < 3; ++n)
        EXPECT_NEAR(r.out[0].v[n * 2 + f], (ex.in[0].v[n * 2 + f] - ex.mean[f]) * rstd * ex.in[1].v[f] + ex.in[2].v[f],
                    tol)
            << "row " << n << " feature " << f;
    }
  }
  // The hand values: running_mean (0.3, 1.5), running_var (1.3, 3.4).
  const RunResult r = run_op(cpu(), op("batchnorm"), params_case("hand", bn_params(1, 0.1, 1e-3)), ex.in, DType::F64);
  EXPECT_NEAR(r.aux[2].v[0], 0.3, 1e-12);
  EXPECT_NEAR(r.aux[2].v[1], 1.5, 1e-12);
  EXPECT_NEAR(r.aux[3].v[0], 1.3, 1e-12);
  EXPECT_NEAR(r.aux[3].v[1], 3.4, 1e-12);
}

TEST(BatchNormSemantics, ZeroParamsMeanScviDefaultsMomentum001Eps1e3) {
  const BnExample ex;
  const RunResult r = run_op(cpu(), op("batchnorm"), params_case("defaults", bn_params(1, 0, 0)), ex.in, DType::F64);
  for (int f = 0; f < 2; ++f) {
    EXPECT_NEAR(r.aux[2].v[f], 0.99 * ex.in[3].v[f] + 0.01 * ex.mean[f], 1e-12);
    EXPECT_NEAR(r.aux[3].v[f], 0.99 * ex.in[4].v[f] + 0.01 * ex.unbiased_var[f], 1e-12);
    EXPECT_NEAR(r.aux[1].v[f], 1.0 / std::sqrt(ex.biased_var[f] + 1e-3), 1e-12);
  }
}

TEST(BatchNormSemantics, EvalUsesRunningStatsAndLeavesThemUnchanged) {
  const BnExample ex;
  const double eps = 1e-3;
  std::vector<HostTensor> dy = {host({3, 2}, {0.5, -1.0, 2.0, 0.25, -0.75, 1.5})};
  const RunResult r = run_op(cpu(), op("batchnorm"), params_case("eval", bn_params(0, 0.1, eps)), ex.in, DType::F64, &dy);
  ASSERT_TRUE(r.guards_intact) << r.guard_report;
  for (int f = 0; f < 2; ++f) {
    const double rm = ex.in[3].v[f], rv = ex.in[4].v[f], g = ex.in[1].v[f], b = ex.in[2].v[f];
    EXPECT_EQ(r.aux[2].v[f], rm) << "eval must not touch running_mean";
    EXPECT_EQ(r.aux[3].v[f], rv) << "eval must not touch running_var";
    double dgamma = 0, dbeta = 0;
    for (int n = 0; n < 3; ++n) {
      const double xhat = (ex.in[0].v[n * 2 + f] - rm) / std::sqrt(rv + eps);
      EXPECT_NEAR(r.out[0].v[n * 2 + f], xhat * g + b, 1e-12);
      // Eval gradient: the statistics are constants.
      EXPECT_NEAR(r.d_in[0].v[n * 2 + f], dy[0].v[n * 2 + f] * g / std::sqrt(rv + eps), 1e-12);
      dgamma += dy[0].v[n * 2 + f] * xhat;
      dbeta += dy[0].v[n * 2 + f];
    }
    EXPECT_NEAR(r.d_in[1].v[f], dgamma, 1e-12);
    EXPECT_NEAR(r.d_in[2].v[f], dbeta, 1e-12);
  }
}

TEST(BatchNormSemantics, TrainingGradientOfXRemovesTheBatchStatisticDirections) {
  // Training-mode dx = k (dy - mean(dy) - xhat mean(dy xhat)), k = gamma rstd: it sums to zero per feature,
  // and sum_n dx xhat = k sum_n(dy xhat) (1 - mean(xhat^2)), which is small but not zero because of eps.
  const BnExample ex;
  const double eps = 1e-3;
  std::vector<HostTensor> dy = {host({3, 2}, {0.5, -1.0, 2.0, 0.25, -0.75, 2.5})};
  const RunResult r = run_op(cpu(), op("batchnorm"), params_case("train", bn_params(1, 0.1, eps)), ex.in, DType::F64, &dy);
  for (int f = 0; f < 2; ++f) {
    const double rstd = 1.0 / std::sqrt(ex.biased_var[f] + eps), k = ex.in[1].v[f] * rstd;
    double s = 0, sx = 0, sdyx = 0, sxx = 0;
    for (int n = 0; n < 3; ++n) {
      const double xhat = (ex.in[0].v[n * 2 + f] - ex.mean[f]) * rstd;
      s += r.d_in[0].v[n * 2 + f];
      sx += r.d_in[0].v[n * 2 + f] * xhat;
      sdyx += dy[0].v[n * 2 + f] * xhat;
      sxx += xhat * xhat / 3;
    }
    EXPECT_NEAR(s, 0.0, 1e-12);
    EXPECT_NEAR(sx, k * sdyx * (1 - sxx), 1e-12);
    EXPECT_GT(std::fabs(r.d_in[0].v[f]), 0.01);  // and not trivially zero (hand values -0.65, -0.025)
  }
}

TEST(BatchNormSemantics, TrainingWithOneRowFailsWithAClearMessage) {
  std::vector<HostTensor> in = {host({1, 4}, {1, 2, 3, 4}), host({4}, {1, 1, 1, 1}), host({4}, {0, 0, 0, 0}),
                                host({4}, {0, 0, 0, 0}), host({4}, {1, 1, 1, 1})};
  try {
    run_op(cpu(), op("batchnorm"), params_case("one_row", bn_params(1, 0, 0)), in, DType::F32);
    FAIL() << "batchnorm accepted a one-row training batch";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("batchnorm"), std::string::npos) << m;
    EXPECT_NE(m.find("more than one row"), std::string::npos) << m;
    EXPECT_NE(m.find("(1, 4)"), std::string::npos) << m;
  }
  // Eval mode with one row is fine (torch allows it).
  const RunResult r = run_op(cpu(), op("batchnorm"), params_case("one_row_eval", bn_params(0, 0, 0)), in, DType::F64);
  EXPECT_NEAR(r.out[0].v[2], 3.0 / std::sqrt(1.0 + 1e-3), 1e-12);
}

// The kernels themselves (below the op's shape rule, which rejects one-row training as torch does): a one-row
// batch leaves running_var as it was instead of dividing by N - 1 = 0, in the BatchNorm and fused FC references.
TEST(BatchNormSemantics, OneRowKernelKeepsRunningVarFinite) {
  const std::vector<float> x = {1.f, 2.f, 3.f};
  std::vector<float> rm = {0.f, 0.f, 0.f}, rv = {1.f, 2.f, 3.f}, y(3), mean(3), rstd(3);
  cpu::batchnorm_fwd<float>(x.data(), nullptr, nullptr, rm.data(), rv.data(), y.data(), mean.data(), rstd.data(),
                            true, 0.1, 1e-3, 1, 3);
  for (int f = 0; f < 3; ++f) {
    EXPECT_EQ(rv[f], float(f + 1)) << "running_var of feature " << f;
    EXPECT_FLOAT_EQ(rm[f], 0.1f * x[f]);
    EXPECT_TRUE(std::isfinite(y[f]));
  }
  std::vector<float> w = {1.f, 0.5f, -1.f}, pre(3), stats(6);
  rv = {1.f, 2.f, 3.f};
  FcConfig c;
  c.norm = kFcNormBatch;
  c.act = kFcActRelu;
  c.momentum = 0.1;
  const float one = 2.f;
  cpu::fc_layer_fwd<float>(&one, w.data(), nullptr, nullptr, nullptr, nullptr, rm.data(), rv.data(), nullptr,
                           y.data(), pre.data(), stats.data(), nullptr, c, 0, 0, 1, 1, 0, 3, 0);
  for (int f = 0; f < 3; ++f) EXPECT_EQ(rv[f], float(f + 1)) << "fused layer, running_var of feature " << f;
}

OpParams ln_params(double eps) {
  OpParams p;
  p.f[0] = eps;
  return p;
}

TEST(LayerNormSemantics, ZeroEpsMeansTorchDefault1e5AndRowsAreNormalised) {
  const std::vector<double> xv = {0.3, -1.2, 2.5, 0.7, -0.4, 4.0, 4.1, 3.9, 4.05, 3.95};
  std::vector<HostTensor> in = {host({2, 5}, xv), none(), none(), none()};
  const RunResult r = run_op(cpu(), op("layernorm"), params_case("plain", ln_params(0)), in, DType::F64);
  for (int n = 0; n < 2; ++n) {
    double mean = 0, var = 0;
    for (int f = 0; f < 5; ++f) mean += xv[n * 5 + f] / 5;
    for (int f = 0; f < 5; ++f) var += (xv[n * 5 + f] - mean) * (xv[n * 5 + f] - mean) / 5;
    for (int f = 0; f < 5; ++f)
      EXPECT_NEAR(r.out[0].v[n * 5 + f], (xv[n * 5 + f] - mean) / std::sqrt(var + 1e-5), 1e-12);
  }
}

TEST(LayerNormSemantics, PerCategoryAffineEqualsPlainLayerNormWithGatheredGammaBeta) {
  const int64_t N = 6, F = 5, S = 3;
  std::vector<double> xv(N * F), gv(S * F), bv(S * F), dyv(N * F);
  for (int64_t i = 0; i < N * F; ++i) {
    xv[i] = std::sin(1.7 * i) * (1 + i % 3);
    dyv[i] = std::cos(0.9 * i);
  }
  for (int64_t i = 0; i < S * F; ++i) {
    gv[i] = 1.0 + 0.1 * std::sin(2.3 * i);
    bv[i] = 0.2 * std::cos(1.1 * i);
  }
  const std::vector<double> cv = {2, 0, 1, 2, 2, 0};
  const double eps = 1e-6;  // MRVI
  std::vector<HostTensor> dy = {host({N, F}, dyv)};
  std::vector<HostTensor> plain_in = {host({N, F}, xv), none(), none(), none()};
  std::vector<HostTensor> cond_in = {host({N, F}, xv), host({S, F}, gv), host({S, F}, bv), host({N}, cv, DType::I32)};
  const RunResult plain = run_op(cpu(), op("layernorm"), params_case("plain", ln_params(eps)), plain_in, DType::F64);
  const RunResult cond = run_op(cpu(), op("layernorm"), params_case("cond", ln_params(eps)), cond_in, DType::F64, &dy);
  ASSERT_TRUE(cond.guards_intact) << cond.guard_report;
  std::vector<double> dgamma(S * F, 0.0), dbeta(S * F, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    const int64_t c = int64_t(cv[n]);
    for (int64_t f = 0; f < F; ++f) {
      const double xhat = plain.out[0].v[n * F + f];
      EXPECT_NEAR(cond.out[0].v[n * F + f], xhat * gv[c * F + f] + bv[c * F + f], 1e-12) << n << "," << f;
      dgamma[c * F + f] += dyv[n * F + f] * xhat;
      dbeta[c * F + f] += dyv[n * F + f];
    }
  }
  for (int64_t i = 0; i < S * F; ++i) {
    EXPECT_NEAR(cond.d_in[1].v[i], dgamma[i], 1e-12) << "dgamma " << i;
    EXPECT_NEAR(cond.d_in[2].v[i], dbeta[i], 1e-12) << "dbeta " << i;
  }
  // dx equals the plain LayerNorm backward fed dy * gamma[code].
  std::vector<double> dy_scaled(N * F);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f) dy_scaled[n * F + f] = dyv[n * F + f] * gv[int64_t(cv[n]) * F + f];
  std::vector<HostTensor> dy2 = {host({N, F}, dy_scaled)};
  const RunResult plain_b = run_op(cpu(), op("layernorm"), params_case("plain", ln_params(eps)), plain_in, DType::F64, &dy2);
  for (int64_t i = 0; i < N * F; ++i) EXPECT_NEAR(cond.d_in[0].v[i], plain_b.d_in[0].v[i], 1e-12) << "dx " << i;
}

TEST(LayerNormSemantics, SharedAffineEqualsSingleCategory) {
  const std::vector<double> xv = {0.3, -1.2, 2.5, 0.7, -0.4, 4.0, 4.1, 3.9, 4.05, 3.95, -2, 2, 0, 1, -1};
  const std::vector<double> gv = {1.1, 0.9, 1.3, 0.7, 1.0}, bv = {0.1, -0.2, 0.3, 0.0, 0.5};
  std::vector<HostTensor> shared = {host({3, 5}, xv), host({5}, gv), host({5}, bv), none()};
  std::vector<HostTensor> table = {host({3, 5}, xv), host({1, 5}, gv), host({1, 5}, bv), host({3}, {0, 0, 0}, DType::I32)};
  const RunResult a = run_op(cpu(), op("layernorm"), params_case("shared", ln_params(1e-6)), shared, DType::F64);
  const RunResult b = run_op(cpu(), op("layernorm"), params_case("table", ln_params(1e-6)), table, DType::F64);
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(a.out[0].v[i], b.out[0].v[i], 1e-14);
}

TEST(LayerNormSemantics, CpuRejectsCodesOutsideTheTableAndShapeRuleRejectsMissingCodes) {
  std::vector<HostTensor> bad = {host({2, 3}, {1, 2, 3, 4, 5, 7}), host({2, 3}, {1, 1, 1, 1, 1, 1}), none(),
                                 host({2}, {0, 2}, DType::I32)};
  try {
    run_op(cpu(), op("layernorm"), params_case("bad", ln_params(0)), bad, DType::F64);
    FAIL() << "layernorm accepted code 2 for a 2-row gamma";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("codes[1] = 2"), std::string::npos) << e.what();
  }
  std::vector<HostTensor> no_codes = {host({2, 3}, {1, 2, 3, 4, 5, 7}), host({2, 3}, {1, 1, 1, 1, 1, 1}), none(),
                                      none()};
  EXPECT_THROW(run_op(cpu(), op("layernorm"), params_case("no_codes", ln_params(0)), no_codes, DType::F64), Error);
}

}  // namespace
}  // namespace cuvi::test
