// Per-element log-densities and their partial derivatives, in double, shared by the CPU reference and
// the CUDA kernels: scvi NB/ZINB/Poisson/BCE (spec scvi-multivi §0, §1.4), Pyro's GammaPoisson, Normal,
// LogNormal, Gamma (regularizedvi §5-6), the Normal KL (§0). Stable forms are derived in the comments.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace cuvi {

// ---------------------------------------------------------------------------------------------------
// Stable primitives (double).

CUVI_HD bool lik_isnan(double v) { return v != v; }

// Logistic sigmoid without overflow.
CUVI_HD double lik_sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  const double e = exp(z);
  return e / (1.0 + e);
}

// log(1 + e^z) without threshold (exact in double for every z).
CUVI_HD double lik_softplus(double z) { return (z > 0 ? z : 0.0) + log1p(exp(-fabs(z))); }

// log(e^p + e^q).
CUVI_HD double lik_logaddexp(double p, double q) {
  const double hi = p > q ? p : q, lo = p > q ? q : p;
  if (hi == -INFINITY) return -INFINITY;
  return hi + log1p(exp(lo - hi));
}

// log1p(d) - d for d > -1, accurate also where it is ~ -d^2/2. For |d| <= 1/2, with r = d/(2+d) and
// y = r^2: log1p(d) = 2r (1 + y/3 + y^2/5 + ...), and 2r - d = -r d, so
// log1p(d) - d = r (2 y S(y) - d) with S(y) = sum_k y^k / (2k + 3) (y <= 1/9: 17 terms reach 1e-17).
CUVI_HD double lik_log1pmx(double d) {
  if (!(fabs(d) <= 0.5)) return log1p(d) - d;  // also propagates NaN
  const double r = d / (2.0 + d), y = r * r;
  double s = 0, yk = 1;
  for (int k = 0; k < 40; ++k) {
    const double term = yk / (2 * k + 3);
    s += term;
    if (term <= 1e-17 * s) break;
    yk *= y;
  }
  return r * (2.0 * y * s - d);
}

// log(num/den) - diff/den where diff = num - den is given exactly by the caller: the same quantity
// as lik_log1pmx(diff/den), but the log of a ratio keeps its accuracy when num << den.
CUVI_HD double lik_log_ratio_m1(double num, double den, double diff) {
  const double d = diff / den;
  if (fabs(d) <= 0.5) return lik_log1pmx(d);
  return log(num / den) - d;
}

// Asymptotic series of psi(t) - log(t) = -1/(2t) - sum_k c_k t^(-2k), c_k = B_2k / (2k), used for
// t >= kLikPsiShift (truncation below 1e-20 relative there).
constexpr double kLikPsiShift = 20.0;
CUVI_HD double lik_psi_series_coef(int k) {
  switch (k) {
    case 1: return 1.0 / 12;
    case 2: return -1.0 / 120;
    case 3: return 1.0 / 252;
    case 4: return -1.0 / 240;
    case 5: return 1.0 / 132;
    case 6: return -691.0 / 32760;
    default: return 1.0 / 12;  // k = 7: B_14 / 14
  }
}

// g(t) = psi(t) - log(t) for t > 0: recurrence g(t) = g(t+1) + log1p(1/t) - 1/t up to t >= 20,
// then the series.
CUVI_HD double lik_psi_minus_log(double t) {
  if (!(t > 0)) return NAN;
  double acc = 0;
  while (t < kLikPsiShift) {
    acc += lik_log1pmx(1.0 / t);
    t += 1.0;
  }
  const double f = 1.0 / (t * t);
  double s = 0, fk = f;
  for (int k = 1; k <= 7; ++k) {
    s += lik_psi_series_coef(k) * fk;
    fk *= f;
  }
  return acc - 0.5 / t - s;
}

// Digamma psi(t), t > 0 (relative error ~1e-16 away from its root at 1.4616).
CUVI_HD double lik_digamma(double t) {
  if (!(t > 0)) return NAN;
  double acc = 0;
  while (t < kLikPsiShift) {
    acc -= 1.0 / t;
    t += 1.0;
  }
  const double f = 1.0 / (t * t);
  double s = 0, fk = f;
  for (int k = 1; k <= 7; ++k) {
    s += lik_psi_series_coef(k) * fk;
    fk *= f;
  }
  return acc + log(t) - 0.5 / t - s;
}

// G(theta, x) = psi(theta + x) - psi(theta) - log1p(x / theta) for theta > 0, x >= 0, without the
// cancellation of the direct difference (for large theta each part is ~x/theta, G ~ x/(2 theta^2)).
//  - integer steps: G(theta, 1) = 1/theta - log1p(1/theta) = -log1pmx(1/theta) > 0, and
//    G(theta, a + b) = G(theta, a) + G(theta + a, b), so the first steps below theta = 20 are a
//    sum of positive terms;
//  - theta >= 20: with q = x/(theta+x) and r = theta/(theta+x) = 1 - q, every series term
//    theta^(-2k) - (theta+x)^(-2k) = theta^(-2k) q S_2k, S_2k = 1 + r + ... + r^(2k-1), so
//    G = (q/theta) [1/2 + sum_k c_k theta^(1-2k) S_2k] with positive, cancellation-free parts.
CUVI_HD double lik_digamma_diff_minus_log(double theta, double x) {
  if (!(theta > 0) || !(x >= 0)) return NAN;
  if (x == 0) return 0.0;
  double acc = 0;
  if (theta < kLikPsiShift) {
    const double n = ceil(kLikPsiShift - theta);  // 1..20 unit steps
    if (x >= n) {
      for (int j = 0; j < static_cast<int>(n); ++j) acc -= lik_log1pmx(1.0 / (theta + j));
      theta += n;
      x -= n;
      if (x == 0) return acc;
    } else if (x == floor(x)) {
      for (int j = 0; j < static_cast<int>(x); ++j) acc -= lik_log1pmx(1.0 / (theta + j));
      return acc;
    } else {
      return lik_psi_minus_log(theta + x) - lik_psi_minus_log(theta);
    }
  }
  if (x == INFINITY) return INFINITY;
  const double q = x / (theta + x), r = theta / (theta + x);
  const double inv = 1.0 / theta, f = inv * inv;
  double S = 1.0 + r, rp = r * r, pw = inv, sum = 0.5;
  for (int k = 1; k <= 7; ++k) {
    sum += lik_psi_series_coef(k) * pw * S;
    pw *= f;
    S += rp * (1.0 + r);
    rp *= r * r;
  }
  return acc + q * inv * sum;
}

// ---------------------------------------------------------------------------------------------------
// Negative binomial, scvi's log_nb_positive (eps = 1e-8; eps = 0 gives Pyro's GammaPoisson):
//   ll = theta (log(theta+eps) - log(theta+mu+eps)) + x (log(mu+eps) - log(theta+mu+eps))
//        + lgamma(x+theta) - lgamma(theta) - lgamma(x+1)
// evaluated as t + x_term + lgammas with
//   t      = theta (log(theta+eps) - log(theta+mu+eps)) = -theta log1p(mu/(theta+eps))     (<= 0)
//   x_term = x (log(mu+eps) - log(theta+mu+eps))        = -x log1p(theta/(mu+eps)),  0 when x = 0.
// With tp = theta + eps:
//   d/dmu    = x/(mu+eps) - (theta+x)/(tp+mu) = theta (x - mu - eps) / ((mu+eps)(tp+mu))
//   d/dtheta = [psi(x+theta) - psi(theta)] - log1p(mu/tp) + theta mu/(tp (tp+mu)) - x/(tp+mu)
//            = G(theta, x) + log1p(eps x / (theta (tp+x))) + log1pmx((x-mu)/(tp+mu)) - eps mu/(tp (tp+mu))
// (log1p(x/theta) - log1p(mu/tp) = log((tp+x)/(tp+mu)) + log1p(eps x/(theta(tp+x))), and
//  theta mu/(tp(tp+mu)) = mu/(tp+mu) - eps mu/(tp(tp+mu))), every part accurate on its own.

struct NbParts {
  double t;         // theta (log(theta+eps) - log(theta+mu+eps))
  double ll;        // NB log-probability
  double d_mu, d_theta;
};

CUVI_HD double nb_t(double mu, double theta, double eps) { return -theta * log1p(mu / (theta + eps)); }

// d t / d theta = log1pmx(-mu/(tp+mu)) - eps mu/(tp (tp+mu)).
CUVI_HD double nb_dt_dtheta(double mu, double theta, double eps) {
  const double tp = theta + eps;
  return lik_log_ratio_m1(tp, tp + mu, -mu) - eps * mu / (tp * (tp + mu));
}

// Counts are small integers almost everywhere: for x in [1, kLikSmallCount] the lgamma and digamma
// differences are finite sums, cheaper than the special functions and as accurate in double.
constexpr int kLikSmallCount = 32;

// lgamma(x + theta) - lgamma(theta) = sum_{j<x} log(theta + j), integer x: products of 8 terms
// (no overflow for theta <= 1e30), one log per product.
CUVI_HD double lik_lgamma_shift_int(double theta, int x) {
  double s = 0;
  for (int j = 0; j < x;) {
    double p = 1;
    const int stop = j + 8 < x ? j + 8 : x;
    for (; j < stop; ++j) p *= theta + j;
    s += log(p);
  }
  return s;
}

#ifndef __CUDA_ARCH__
// log(x!) for x in [0, kLikSmallCount], computed once on the host.
inline const double* lik_log_factorial_table() {
  static const struct Table {
    double v[kLikSmallCount + 1];
    Table() {
      for (int i = 0; i <= kLikSmallCount; ++i) v[i] = std::lgamma(i + 1.0);
    }
  } table;
  return table.v;
}
#endif

CUVI_HD double lik_log_factorial(double x) {
#ifndef __CUDA_ARCH__
  if (x >= 0 && x <= kLikSmallCount && x == floor(x)) return lik_log_factorial_table()[static_cast<int>(x)];
#endif
  return lgamma(x + 1.0);
}

CUVI_HD bool lik_small_count(double x) { return x >= 1 && x <= kLikSmallCount && x == floor(x); }

CUVI_HD NbParts nb_parts(double x, double mu, double theta, double eps, bool want_ll, bool want_mu,
                         bool want_theta) {
  NbParts o;
  const double tp = theta + eps;
  o.t = nb_t(mu, theta, eps);
  o.ll = 0;
  if (want_ll) {
    if (x == 0) {
      o.ll = o.t;
    } else {
      const double shift = lik_small_count(x) && theta > 0 ? lik_lgamma_shift_int(theta, static_cast<int>(x))
                                                          : lgamma(x + theta) - lgamma(theta);
      o.ll = o.t - x * log1p(theta / (mu + eps)) + shift - lik_log_factorial(x);
    }
  }
  o.d_mu = 0;
  o.d_theta = 0;
  if (want_mu) o.d_mu = x == 0 ? -theta / (tp + mu) : theta * ((x - mu) - eps) / ((mu + eps) * (tp + mu));
  if (want_theta) {
    if (x == 0) {
      o.d_theta = nb_dt_dtheta(mu, theta, eps);
    } else {
      double g;
      if (lik_small_count(x) && theta > 0 && theta < kLikPsiShift) {
        // G(theta, x) = sum_{j<x} 1/(theta+j) - log1p(x/theta) (telescoped logs); below theta = 20 the
        // cancellation costs at most a factor 40 of double rounding.
        double inv = 0;
        for (int j = 0; j < static_cast<int>(x); ++j) inv += 1.0 / (theta + j);
        g = inv - log1p(x / theta);
      } else {
        g = lik_digamma_diff_minus_log(theta, x);
      }
      o.d_theta = g + log1p(eps * x / (theta * (tp + x))) + lik_log_ratio_m1(tp + x, tp + mu, x - mu) -
                  eps * mu / (tp * (tp + mu));
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------
// Zero-inflated NB, scvi's log_zinb_positive with torch's softplus (threshold 20: identity above):
//   sp = softplus(-pi); a = -pi + t
//   x < eps:  zero    = softplus(a) - sp          (= log(sigmoid(pi) + sigmoid(-pi) NB(0)) up to the threshold)
//   x > eps:  nonzero = -sp + a + [NB(x) - t]    = NB(x) + (-pi - sp)
//   x = eps:  0 (both float masks are zero).
// The zero branch, t <= 0, is evaluated per threshold regime:
//   -pi > 20, a > 20:  zero = a - (-pi) = t                                   d/dpi 0,          d/dt 1
//   -pi > 20, a <= 20: zero = softplus(a) + pi = t + log1p(e^-a) (a >= 0)
//                                             = pi + log1p(e^a)  (a < 0)      d/dpi sigmoid(-a), d/dt sigmoid(a)
//   -pi <= 20 (then a <= 20): with y = sigmoid(-pi) (1 - e^t) in [0, 1),
//        zero = log1p(-y) when y < 1/2, else logaddexp(-softplus(-pi), -softplus(pi) + t);
//        d/dt = sigmoid(a); d/dpi = sigmoid(-pi) - sigmoid(a) = sigmoid(pi) sigmoid(a) expm1(-t),
//        the product used where -t < 1, the difference (or its mirror sigmoid(-a) - sigmoid(pi))
//        where the two sigmoids are at least a factor e apart.
// Nonzero branch: -pi - sp = 0 when -pi > 20 (torch), else -softplus(pi); d/dpi 0 or -sigmoid(pi).

struct ZinbParts {
  double ll, d_mu, d_theta, d_pi;
};

CUVI_HD ZinbParts zinb_parts(double x, double mu, double theta, double pi, double eps, bool want_ll,
                             bool want_mu, bool want_theta, bool want_pi) {
  ZinbParts o{0, 0, 0, 0};
  if (lik_isnan(x)) {
    o.ll = o.d_mu = o.d_theta = o.d_pi = NAN;
    return o;
  }
  const double mpi = -pi;
  if (x < eps) {
    const double tp = theta + eps;
    const double t = nb_t(mu, theta, eps);
    const double a = mpi + t;
    double z, dz_dpi, dz_dt;
    if (mpi > 20.0) {
      if (a > 20.0) {
        z = t;
        dz_dpi = 0;
        dz_dt = 1;
      } else {
        z = a >= 0 ? t + log1p(exp(-a)) : pi + log1p(exp(a));
        dz_dpi = lik_sigmoid(-a);
        dz_dt = lik_sigmoid(a);
      }
    } else {
      const double s_mpi = lik_sigmoid(mpi);
      const double y = s_mpi * -expm1(t);
      z = y < 0.5 ? log1p(-y) : lik_logaddexp(-lik_softplus(mpi), -lik_softplus(pi) + t);
      dz_dt = lik_sigmoid(a);
      if (-t < 1.0)
        dz_dpi = lik_sigmoid(pi) * dz_dt * expm1(-t);
      else if (a >= 0)
        dz_dpi = lik_sigmoid(-a) - lik_sigmoid(pi);
      else
        dz_dpi = s_mpi - dz_dt;
    }
    o.ll = z;
    if (want_pi) o.d_pi = dz_dpi;
    if (want_mu) o.d_mu = dz_dt * (-theta / (tp + mu));
    if (want_theta) o.d_theta = dz_dt * nb_dt_dtheta(mu, theta, eps);
  } else if (x > eps) {
    const NbParts nb = nb_parts(x, mu, theta, eps, want_ll, want_mu, want_theta);
    const bool flat = mpi > 20.0;  // torch: softplus(-pi) = -pi exactly
    o.ll = nb.ll + (flat ? 0.0 : -lik_softplus(pi));
    o.d_mu = nb.d_mu;
    o.d_theta = nb.d_theta;
    if (want_pi) o.d_pi = flat ? 0.0 : -lik_sigmoid(pi);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------
// The elementwise likelihood family: one switch shared by both backends. An element of kind K sees up
// to four inputs a[0..3] (broadcast already resolved) and returns its log-density (KL for kLikKLNormal)
// and the partial derivatives d[i] requested by bit i of `want`.

enum LikKind : int {
  kLikNB,            // a = (x, mu, theta)
  kLikZINB,          // a = (x, mu, theta, pi logits)
  kLikPoisson,       // a = (x, rate)
  kLikBernoulli,     // a = (target, p)
  kLikGammaPoisson,  // a = (x, mu, theta), eps = 0
  kLikNormal,        // a = (x, loc, scale)
  kLikLogNormal,     // a = (x, loc, scale)
  kLikGamma,         // a = (x, concentration, rate)
  kLikKLNormal,      // a = (qm, qv, pm, pv): KL(N(qm, sqrt(qv)) || N(pm, sqrt(pv)))
};

// How input i reaches element (n, j) of the (N, C) grid of input 0.
enum LikBcast : int { kLikAbsent = 0, kLikFull = 1, kLikRow = 2, kLikScalar = 3 };

CUVI_HD int64_t lik_index(int mode, int64_t n, int64_t j, int64_t C) {
  return mode == kLikFull ? n * C + j : (mode == kLikRow ? j : 0);
}

// Rows per tile of the backward pass: a broadcast input's gradient is summed over the rows of a tile
// into one partial row (ceil(N / R), C) in double, then over the tiles in order. Both backends use it.
CUVI_HD int64_t lik_rows_per_tile(int64_t N, int64_t C) { return N * C <= (int64_t(1) << 22) ? 4 : 16; }
CUVI_HD int64_t lik_tiles(int64_t N, int64_t C) {
  const int64_t R = lik_rows_per_tile(N, C);
  return (N + R - 1) / R;
}

// The inputs of one likelihood call: pointer, broadcast mode, value used when absent.
template <class T>
struct LikInputs {
  const T* p[4];
  int mode[4];
  double dflt[4];
};

// Gradient buffers (null: not wanted), accumulate flags, and the double partials of broadcast inputs
// (ceil(N/R), C) taken from the op's aux tensors.
template <class T>
struct LikGrads {
  T* d[4];
  bool acc[4];
  double* partial[4];
};

struct LikOut {
  double ll;
  double d[4];
};

constexpr double kLogSqrt2Pi = 0.91893853320467274178;

CUVI_HD LikOut lik_eval(int kind, double a0, double a1, double a2, double a3, double eps, unsigned want) {
  LikOut o{0, {0, 0, 0, 0}};
  switch (kind) {
    case kLikNB:
    case kLikGammaPoisson: {
      const NbParts nb = nb_parts(a0, a1, a2, kind == kLikNB ? eps : 0.0, want == 0u, want & 2u, want & 4u);
      o.ll = nb.ll;
      o.d[1] = nb.d_mu;
      o.d[2] = nb.d_theta;
      break;
    }
    case kLikZINB: {
      const ZinbParts z = zinb_parts(a0, a1, a2, a3, eps, want == 0u, want & 2u, want & 4u, want & 8u);
      o.ll = z.ll;
      o.d[1] = z.d_mu;
      o.d[2] = z.d_theta;
      o.d[3] = z.d_pi;
      break;
    }
    case kLikPoisson: {
      // xlogy(x, rate) - rate - lgamma(x + 1); d/drate = (x - rate) / rate.
      const double x = a0, rate = a1;
      o.ll = (x == 0 ? 0.0 : x * log(rate)) - rate - lik_log_factorial(x);
      o.d[1] = x == 0 ? -1.0 : (x - rate) / rate;
      break;
    }
    case kLikBernoulli: {
      // torch BCE: t max(log p, -100) + (1 - t) max(log(1 - p), -100); zero slope where clamped (the exact
      // derivative of this value; torch's own backward, (t - p)/max(p(1-p), 1e-12), differs only where a
      // clamp is active or p(1-p) < 1e-12).
      const double t = a0, p = a1;
      const double lp = log(p), lq = log1p(-p);
      const bool cp = lp < -100.0, cq = lq < -100.0;
      o.ll = t * (cp ? -100.0 : lp) + (1.0 - t) * (cq ? -100.0 : lq);
      o.d[1] = (cp ? 0.0 : t / p) - (cq ? 0.0 : (1.0 - t) / (1.0 - p));
      break;
    }
    case kLikNormal: {
      // -(x-m)^2/(2 s^2) - log s - log sqrt(2 pi); z = (x-m)/s.
      const double s = a2, z = (a0 - a1) / s;
      o.ll = -0.5 * z * z - log(s) - kLogSqrt2Pi;
      o.d[0] = -z / s;
      o.d[1] = z / s;
      o.d[2] = (z * z - 1.0) / s;
      break;
    }
    case kLikLogNormal: {
      // Normal(loc, scale) of y = log x, minus log x (torch ExpTransform Jacobian).
      const double x = a0, s = a2, y = log(x), z = (y - a1) / s;
      o.ll = -0.5 * z * z - log(s) - kLogSqrt2Pi - y;
      o.d[0] = (-z / s - 1.0) / x;
      o.d[1] = z / s;
      o.d[2] = (z * z - 1.0) / s;
      break;
    }
    case kLikGamma: {
      // torch Gamma: xlogy(a, b) + xlogy(a - 1, x) - b x - lgamma(a).
      const double x = a0, c = a1, b = a2;
      o.ll = (c == 0 ? 0.0 : c * log(b)) + (c == 1 ? 0.0 : (c - 1.0) * log(x)) - b * x - lgamma(c);
      o.d[0] = (c == 1 ? 0.0 : (c - 1.0) / x) - b;
      if (want & 2u) o.d[1] = log(b) + log(x) - lik_digamma(c);
      o.d[2] = c / b - x;
      break;
    }
    case kLikKLNormal: {
      // KL = 0.5 (r + t - 1 - log r), r = qv/pv, t = (qm-pm)^2/pv; r - 1 - log r = -log1pmx(r - 1).
      const double qm = a0, qv = a1, pm = a2, pv = a3;
      const double diff = qm - pm, d = (qv - pv) / pv;
      o.ll = 0.5 * (diff * diff / pv - lik_log1pmx(d));
      o.d[0] = diff / pv;
      o.d[1] = 0.5 * (qv - pv) / (pv * qv);
      o.d[2] = -diff / pv;
      o.d[3] = 0.5 * ((pv - qv) - diff * diff) / (pv * pv);
      break;
    }
    default: o.ll = NAN;
  }
  return o;
}

}  // namespace cuvi
