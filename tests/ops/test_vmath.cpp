// Branch-free double math of kernels/cpu/vmath.h against long double libm, and the packed NB / ZINB /
// GammaPoisson rows of kernels/cpu/likelihood.h against the element-by-element reference path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/likelihood.h"
#include "kernels/cpu/vmath.h"

namespace cuvi::cpu {
namespace {

using LD = long double;
constexpr double kU = 1.1102230246251565e-16;  // 2^-53

// Largest |f(x) - ref(x)| / (|ref(x)| + floor) over log-spaced x in [lo, hi] (both signs when asked).
template <class F, class R>
double worst_rel(F f, R ref, double lo, double hi, bool both_signs, double floor = 0) {
  double worst = 0;
  const int n = 20000;
  for (int i = 0; i <= n; ++i) {
    const double x = std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * double(i) / n);
    for (int s = 0; s < (both_signs ? 2 : 1); ++s) {
      const double v = s ? -x : x;
      const LD r = ref(LD(v));
      const double e = double(std::fabs(LD(f(v)) - r) / (std::fabs(r) + LD(floor)));
      if (!(e <= worst)) worst = e;
    }
  }
  return worst;
}

// log1p(d) - d in long double: the Taylor series where the difference would cancel.
LD log1pmx_ref(LD d) {
  if (std::fabs(double(d)) > 0.25) return log1pl(d) - d;
  LD s = 0, p = d;
  for (int k = 2; k < 60; ++k) {
    p *= -d;
    s += p / k;  // (-1)^(k+1) d^k / k
  }
  return s;
}

// Bounds: 8 ulps of the result (the polynomial and reduction of each function round a few times).
TEST(Vmath, ElementaryFunctionsAgreeWithLongDouble) {
  EXPECT_LT(worst_rel(vm_log, [](LD x) { return logl(x); }, 1e-300, 1e300, false, 1e-300), 8 * kU);
  EXPECT_LT(worst_rel(vm_log1p, [](LD x) { return log1pl(x); }, 1e-300, 1e300, false, 1e-300), 8 * kU);
  EXPECT_LT(worst_rel(vm_log1p, [](LD x) { return log1pl(x); }, 1e-300, 0.999, false), 8 * kU)
      << "log1p on (-1, 0)";
  EXPECT_LT(worst_rel([](double x) { return vm_log1p(-x); }, [](LD x) { return log1pl(-x); }, 1e-300, 0.999, false),
            8 * kU);
  EXPECT_LT(worst_rel(vm_exp, [](LD x) { return expl(x); }, 1e-300, 700, true), 8 * kU);
  EXPECT_LT(worst_rel(vm_expm1, [](LD x) { return expm1l(x); }, 1e-300, 700, true), 8 * kU);
  EXPECT_LT(worst_rel(vm_sigmoid, [](LD x) { return 1 / (1 + expl(-x)); }, 1e-300, 700, true), 8 * kU);
  EXPECT_LT(worst_rel(vm_softplus, [](LD x) { return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x)); }, 1e-300, 700,
                      true),
            8 * kU);
  // log1pmx(d) = log1p(d) - d loses everything to cancellation in a naive form near 0.
  EXPECT_LT(worst_rel(vm_log1pmx, log1pmx_ref, 1e-8, 1e6, false), 8 * kU);
  EXPECT_LT(worst_rel([](double d) { return vm_log1pmx(-d); }, [](LD d) { return log1pmx_ref(-d); }, 1e-8, 0.999,
                      false),
            8 * kU);
}

// vm_sincos on [0, 2 pi] (the Box-Muller angles) and out to 1e5; relative to max(|ref|, 2^-30), the
// smallest |sin| or |cos| a Box-Muller angle 2 pi (u + 1/2)/2^32 can have (it is never within 2 pi 2^-33
// of a multiple of pi/2).
TEST(Vmath, SinCosAgreeWithLongDouble) {
  double worst = 0;
  const int n = 200000;
  for (int i = 0; i <= n; ++i) {
    for (double x : {6.283185307179586 * double(i) / n, std::exp(std::log(1e-8) + std::log(1e13) * double(i) / n)}) {
      for (double v : {x, -x}) {
        if (std::fabs(v) > 1e5) continue;
        const VmSinCos sc = vm_sincos(v);
        const LD rs = sinl(LD(v)), rc = cosl(LD(v));
        const LD floor = 9.313225746154785e-10L;  // 2^-30
        worst = std::max(worst, double(std::fabs(LD(sc.sin) - rs) / std::max(std::fabs(rs), floor)));
        worst = std::max(worst, double(std::fabs(LD(sc.cos) - rc) / std::max(std::fabs(rc), floor)));
      }
    }
  }
  EXPECT_LT(worst, 8 * kU);
  EXPECT_EQ(vm_sincos(0.0).sin, 0.0);
  EXPECT_EQ(vm_sincos(0.0).cos, 1.0);
}

TEST(Vmath, SqrtAgreesWithLongDouble) {
  EXPECT_LT(worst_rel(vm_sqrt, [](LD x) { return sqrtl(x); }, 1e-300, 1e300, false), 4 * kU);
  EXPECT_EQ(vm_sqrt(0.0), 0.0);
  EXPECT_EQ(vm_sqrt(4.0), 2.0);
  EXPECT_EQ(vm_sqrt(std::numeric_limits<double>::infinity()), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(vm_sqrt(std::numeric_limits<double>::quiet_NaN())));
}

// float(vm_sqrt(x)) is sqrtf(x) for every float in [1, 4): the bits of the result depend only on the
// mantissa and the parity of the exponent (vm_sqrt scales exactly by powers of 4), so this covers every
// finite float (the CPU Adam update relies on it, kernels/cpu/adam.h).
TEST(Vmath, SqrtRoundsToSqrtfForEveryFloatMantissa) {
  int64_t mismatches = 0;
  for (float x = 1.0f; x < 4.0f; x = std::nextafter(x, 8.0f))
    mismatches += float(vm_sqrt(double(x))) != std::sqrt(x);
  EXPECT_EQ(mismatches, 0);
  for (float x : {0.0f, 1e-45f, 1.17549435e-38f, 3.4028235e38f, 2.5e-7f, 123456.7f})
    EXPECT_EQ(float(vm_sqrt(double(x))), std::sqrt(x)) << x;
}

TEST(Vmath, SpecialValues) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(vm_log(0.0), -inf);
  EXPECT_EQ(vm_log(inf), inf);
  EXPECT_TRUE(std::isnan(vm_log(-1.0)));
  EXPECT_TRUE(std::isnan(vm_log(nan)));
  EXPECT_EQ(vm_log1p(-1.0), -inf);
  EXPECT_EQ(vm_log1p(inf), inf);
  EXPECT_TRUE(std::isnan(vm_log1p(-2.0)));
  EXPECT_TRUE(std::isnan(vm_log1p(nan)));
  EXPECT_EQ(vm_log1p(0.0), 0.0);
  EXPECT_EQ(vm_exp(-inf), 0.0);
  EXPECT_EQ(vm_exp(inf), inf);
  EXPECT_EQ(vm_exp(0.0), 1.0);
  EXPECT_EQ(vm_exp(-800.0), 0.0);
  EXPECT_EQ(vm_exp(800.0), inf);
  EXPECT_EQ(vm_expm1(-800.0), -1.0);
  EXPECT_EQ(vm_sigmoid(-800.0), 0.0);
  EXPECT_EQ(vm_sigmoid(800.0), 1.0);
  EXPECT_EQ(vm_softplus(800.0), 800.0);
  EXPECT_TRUE(std::isnan(vm_exp(nan)));
  EXPECT_EQ(vm_select(true, 1.0, 2.0), 1.0);
  EXPECT_EQ(vm_select(false, 1.0, 2.0), 2.0);
}

// The packed path (nb_rows_fwd / nb_rows_bwd) against lik_rows_*_generic on rows longer than one block,
// with every count group (zero, 1..32, larger integers, non-integers) and theta full, per gene and scalar.
struct Grid {
  int64_t N = 7, C = 301;
  std::vector<double> x, mu, theta, pi, dll;
};

Grid make_grid(int theta_mode, uint32_t seed) {
  Grid g;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const int64_t NC = g.N * g.C;
  for (int64_t k = 0; k < NC; ++k) {
    const double r = u(rng);
    g.x.push_back(r < 0.4 ? 0.0 : r < 0.7 ? std::floor(1 + 32 * u(rng)) : r < 0.9 ? std::floor(std::pow(1e5, u(rng)))
                                                                                     : 10 * u(rng));
    g.mu.push_back(std::pow(10.0, -6 + 11 * u(rng)));
    g.pi.push_back(-30 + 60 * u(rng));
  }
  const int64_t nt = theta_mode == kLikFull ? NC : theta_mode == kLikRow ? g.C : 1;
  for (int64_t k = 0; k < nt; ++k) g.theta.push_back(std::pow(10.0, -4 + 10 * u(rng)));
  for (int64_t n = 0; n < g.N; ++n) g.dll.push_back(0.5 + u(rng));
  return g;
}

TEST(Vmath, PackedNbRowsEqualTheElementwisePath) {
  for (int kind : {kLikNB, kLikZINB, kLikGammaPoisson})
    for (int theta_mode : {kLikFull, kLikRow, kLikScalar}) {
      Grid g = make_grid(theta_mode, uint32_t(kind * 10 + theta_mode));
      const bool zinb = kind == kLikZINB;
      LikInputs<double> in{{g.x.data(), g.mu.data(), g.theta.data(), zinb ? g.pi.data() : nullptr},
                           {kLikFull, kLikFull, theta_mode, zinb ? kLikFull : kLikAbsent},
                           {0, 0, 0, 0}};
      ASSERT_TRUE(nb_fast_applies(kind, in));
      const double eps = 1e-8;
      std::vector<double> ll(g.N), ll_ref(g.N);
      lik_rows_fwd(kind, in, eps, ll.data(), g.N, g.C);
      lik_rows_fwd_generic(kind, in, eps, ll_ref.data(), g.N, g.C);
      for (int64_t n = 0; n < g.N; ++n) {
        // Each row sums C terms of magnitude up to ~1e6: compare against that scale.
        EXPECT_NEAR(ll[n], ll_ref[n], 1e-12 * (std::fabs(ll_ref[n]) + 1.0)) << "kind " << kind << " row " << n;
      }
      const int64_t NC = g.N * g.C, tiles = lik_tiles(g.N, g.C);
      std::vector<double> dmu(NC), dmu_ref(NC), dpi(NC), dpi_ref(NC), dth(g.theta.size()), dth_ref(g.theta.size());
      std::vector<double> part(size_t(tiles * g.C)), part_ref(size_t(tiles * g.C));
      LikGrads<double> gr{{nullptr, dmu.data(), dth.data(), zinb ? dpi.data() : nullptr},
                          {false, false, false, false},
                          {nullptr, nullptr, part.data(), nullptr}};
      LikGrads<double> gr_ref{{nullptr, dmu_ref.data(), dth_ref.data(), zinb ? dpi_ref.data() : nullptr},
                              {false, false, false, false},
                              {nullptr, nullptr, part_ref.data(), nullptr}};
      lik_rows_bwd(kind, in, eps, g.dll.data(), gr, g.N, g.C);
      lik_rows_bwd_generic(kind, in, eps, g.dll.data(), gr_ref, g.N, g.C);
      auto close = [](const std::vector<double>& a, const std::vector<double>& b, const char* what, int kind) {
        for (size_t k = 0; k < a.size(); ++k)
          ASSERT_NEAR(a[k], b[k], 1e-10 * (std::fabs(b[k]) + 1e-6)) << what << " kind " << kind << " at " << k;
      };
      close(dmu, dmu_ref, "d mu", kind);
      close(dth, dth_ref, "d theta", kind);
      if (zinb) close(dpi, dpi_ref, "d pi", kind);
    }
}

}  // namespace
}  // namespace cuvi::cpu
