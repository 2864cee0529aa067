// fp32 evaluation of scvi's NB / ZINB log-probability and of its gradients for the fused likelihood tail
// (op px_log_prob, spec scvi-multivi §1.4): Loader's saddle-point form (stirlerr + bd0) instead of three
// lgamma, psi differences by unit steps and an asymptotic series. No double arithmetic, so the CUDA
// training step runs no FP64; kernels/common/likelihood.h keeps the double forms the CPU reference uses.
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace cuvi {

// Every function may add the magnitudes of the terms it sums into *scale (tests: the forward error of a
// sum of rounded terms is bounded by a small multiple of u = 2^-24 times that magnitude). Null: skipped.
CUVI_HD void likf_add(float* scale, float v) {
  if (scale) *scale += fabsf(v);
}

constexpr float kLikfLnSqrt2Pi = 0.918938533204672742f;  // log sqrt(2 pi)

// log1p(d) - d. For |d| <= 1/2 the series in r = d/(2+d), y = r^2 of lik_log1pmx (likelihood.h):
// log1p(d) - d = r (2 y S(y) - d), S = sum_k y^k/(2k+3); y <= 1/9, so 8 terms leave < 2^-26.
CUVI_HD float likf_log1pmx(float d) {
  if (!(fabsf(d) <= 0.5f)) return log1pf(d) - d;  // also propagates NaN
  const float r = d / (2.0f + d), y = r * r;
  float s = 1.0f / 17;
  s = s * y + 1.0f / 15;
  s = s * y + 1.0f / 13;
  s = s * y + 1.0f / 11;
  s = s * y + 1.0f / 9;
  s = s * y + 1.0f / 7;
  s = s * y + 1.0f / 5;
  s = s * y + 1.0f / 3;
  return r * (2.0f * y * s - d);
}

// log(num/den) - diff/den with diff = num - den formed by the caller from exact inputs.
CUVI_HD float likf_log_ratio_m1(float num, float den, float diff) {
  const float d = diff / den;
  if (fabsf(d) <= 0.5f) return likf_log1pmx(d);
  return logf(num / den) - d;
}

CUVI_HD float likf_sigmoid(float z) {
  if (z >= 0) return 1.0f / (1.0f + expf(-z));
  const float e = expf(z);
  return e / (1.0f + e);
}
CUVI_HD float likf_softplus(float z) { return (z > 0 ? z : 0.0f) + log1pf(expf(-fabsf(z))); }
CUVI_HD float likf_logaddexp(float p, float q) {
  const float hi = p > q ? p : q, lo = p > q ? q : p;
  if (hi == -INFINITY) return -INFINITY;
  return hi + log1pf(expf(lo - hi));
}

// stirlerr(z) = lgamma(z + 1) - (z + 1/2) log z + z - log sqrt(2 pi), z > 0: the series
// 1/(12z) - 1/(360z^3) + 1/(1260z^5) - 1/(1680z^7) for z >= 10 (next term < 1e-12), a table for the
// integers 1..9, lgammaf for the rest (its parts go into *scale).
CUVI_HD float likf_stirlerr(float z, float* scale) {
  if (z >= 10.0f) {
    const float iz = 1.0f / z, f = iz * iz;
    return iz * (1.0f / 12 - f * (1.0f / 360 - f * (1.0f / 1260 - f * (1.0f / 1680))));
  }
  if (z == floorf(z) && z >= 1.0f) {
    switch (static_cast<int>(z)) {
      case 1: return 0.0810614667953f;
      case 2: return 0.0413406959554f;
      case 3: return 0.027677925685f;
      case 4: return 0.0207906721038f;
      case 5: return 0.0166446911898f;
      case 6: return 0.0138761288231f;
      case 7: return 0.0118967099459f;
      case 8: return 0.010411265262f;
      default: return 0.00925546218271f;  // 9
    }
  }
  const float lg = lgammaf(z + 1.0f), lz = (z + 0.5f) * logf(z);
  likf_add(scale, lg);
  likf_add(scale, lz);
  likf_add(scale, z + kLikfLnSqrt2Pi);
  return lg - lz + z - kLikfLnSqrt2Pi;
}

// bd0(x, M) = x log(x/M) + M - x >= 0 (Loader's deviance term), x, M > 0: the series in
// v = (x-M)/(x+M) where |x - M| < (x + M)/10 (x - M is then exact), the direct form elsewhere.
CUVI_HD float likf_bd0(float x, float M) {
  const float diff = x - M;
  if (fabsf(diff) < 0.1f * (x + M)) {
    const float v = diff / (x + M), v2 = v * v;
    float s = diff * v, ej = 2.0f * x * v;
    for (int j = 1; j < 12; ++j) {
      ej *= v2;
      const float s1 = s + ej / static_cast<float>(2 * j + 1);
      if (s1 == s) break;
      s = s1;
    }
    return s;
  }
  return x * logf(x / M) + M - x;
}

// Asymptotic series of psi(t) - log(t) = -1/(2t) - sum_k c_k t^(-2k) (c_k = B_2k / 2k), t >= 10:
// four terms leave < 1e-10 relative.
constexpr float kLikfPsiShift = 10.0f;
CUVI_HD float likf_psi_coef(int k) {
  return k == 1 ? 1.0f / 12 : (k == 2 ? -1.0f / 120 : (k == 3 ? 1.0f / 252 : -1.0f / 240));
}
CUVI_HD float likf_psi_minus_log_series(float t) {
  const float f = 1.0f / (t * t);
  return -0.5f / t - f * (1.0f / 12 - f * (1.0f / 120 - f * (1.0f / 252 - f * (1.0f / 240))));
}
// psi(t) - log(t), t > 0: unit steps g(t) = g(t+1) + log1pmx(1/t) up to t >= 10, then the series.
CUVI_HD float likf_psi_minus_log(float t) {
  float acc = 0;
  while (t < kLikfPsiShift) {
    acc += likf_log1pmx(1.0f / t);
    t += 1.0f;
  }
  return acc + likf_psi_minus_log_series(t);
}

// G(theta, x) = psi(theta + x) - psi(theta) - log1p(x / theta), theta > 0, x >= 0, as
// lik_digamma_diff_minus_log (likelihood.h) with the fp32 shift: positive unit steps
// -log1pmx(1/(theta + j)) below theta = 10, then (q/theta) [1/2 + sum_k c_k theta^(1-2k) S_2k] with
// q = x/(theta+x), r = 1 - q, S_2k = 1 + r + ... + r^(2k-1): no cancellation anywhere.
CUVI_HD float likf_digamma_diff_minus_log(float theta, float x) {
  if (x == 0) return 0.0f;
  float acc = 0;
  if (theta < kLikfPsiShift) {
    const float n = ceilf(kLikfPsiShift - theta);  // 1..10 unit steps
    if (x >= n) {
      for (int j = 0; j < static_cast<int>(n); ++j) acc -= likf_log1pmx(1.0f / (theta + j));
      theta += n;
      x -= n;
      if (x == 0) return acc;
    } else if (x == floorf(x)) {
      for (int j = 0; j < static_cast<int>(x); ++j) acc -= likf_log1pmx(1.0f / (theta + j));
      return acc;
    } else {
      return likf_psi_minus_log(theta + x) - likf_psi_minus_log(theta);
    }
  }
  if (x == INFINITY) return INFINITY;
  const float q = x / (theta + x), r = theta / (theta + x);
  const float inv = 1.0f / theta, f = inv * inv;
  float S = 1.0f + r, rp = r * r, pw = inv, sum = 0.5f;
  for (int k = 1; k <= 4; ++k) {
    sum += likf_psi_coef(k) * pw * S;
    pw *= f;
    S += rp * (1.0f + r);
    rp *= r * r;
  }
  return acc + q * inv * sum;
}

// NB of one element in the quantities the fused tail needs (eps as in scvi's log_nb_positive):
//   ll       = theta log((theta+eps)/(theta+mu+eps)) + x log((mu+eps)/(theta+mu+eps)) + lgamma(x+theta)
//              - lgamma(theta) - lgamma(x+1)
//   mu_dmu   = mu d ll/d mu = theta mu (x - mu - eps) / ((mu + eps)(theta + eps + mu))
//   th_dth   = theta d ll/d theta (the gradient of log theta = px_r)
// x > 0 uses Loader's form of NB(theta, mu) (R's dnbinom_mu):
//   log(theta/(theta+x)) + stirlerr(x+theta) - stirlerr(theta) - stirlerr(x) - bd0(theta, n p)
//   - bd0(x, n q) - log(2 pi theta x/(theta+x))/2,  n = x + theta, p = theta/(theta+mu), q = mu/(theta+mu),
// plus the eps terms theta log1p(eps/theta) - (theta+x) log1p(eps/(theta+mu)) + x log1p(eps/mu), the
// first two linearised (error < eps^2/theta). d/dtheta as nb_parts (likelihood.h) with G above.
struct LikfNb {
  float ll, mu_dmu, th_dth;
};

CUVI_HD float likf_nb_dt_dtheta(float mu, float theta, float eps) {
  const float tp = theta + eps;
  return likf_log_ratio_m1(tp, tp + mu, -mu) - eps * mu / (tp * (tp + mu));
}

CUVI_HD LikfNb likf_nb(float x, float mu, float theta, float eps, float* scale = nullptr) {
  LikfNb o;
  if (x != x || mu != mu || theta != theta) {
    o.ll = o.mu_dmu = o.th_dth = NAN;
    return o;
  }
  const float tp = theta + eps;
  if (x == 0) {
    o.ll = -theta * log1pf(mu / tp);
    likf_add(scale, o.ll);
    o.mu_dmu = -theta * mu / (tp + mu);
    o.th_dth = theta * likf_nb_dt_dtheta(mu, theta, eps);
    return o;
  }
  const float m = mu > 1e-30f ? mu : 1e-30f;  // mu underflowed to 0: the eps term carries x log(eps)
  const float n = x + theta, inv = 1.0f / (theta + m);
  const float np = n * (theta * inv), nq = n * (m * inv);
  const float t1 = -log1pf(x / theta);
  const float s1 = likf_stirlerr(n, scale), s2 = likf_stirlerr(theta, scale), s3 = likf_stirlerr(x, scale);
  const float b1 = likf_bd0(theta, np), b2 = likf_bd0(x, nq);
  const float lf = 0.5f * logf(2.0f * 3.14159265358979f * theta * (x / n));
  float e = 0;
  if (eps > 0) e = eps * (m - x) * inv + x * log1pf(eps / m);
  o.ll = t1 + s1 - s2 - s3 - b1 - b2 - lf + e;
  if (scale) {
    // the terms, and the rounding of n p and n q seen through d bd0/dM = 1 - x/M
    *scale += fabsf(t1) + fabsf(s1) + fabsf(s2) + fabsf(s3) + fabsf(b1) + fabsf(b2) + fabsf(lf) + fabsf(e);
    likf_add(scale, 4.0f * (theta - np));
    likf_add(scale, 4.0f * (x - nq));
  }
  o.mu_dmu = theta * mu * ((x - mu) - eps) / ((mu + eps) * (tp + mu));
  const float g = likf_digamma_diff_minus_log(theta, x);
  o.th_dth = theta * (g + eps * x / (theta * (tp + x)) + likf_log_ratio_m1(tp + x, tp + mu, x - mu) -
                      eps * mu / (tp * (tp + mu)));
  return o;
}

// ZINB of one element (zinb_parts in likelihood.h, torch's softplus threshold 20), with the pi
// gradient; NaN in any input gives NaN everywhere.
struct LikfZinb {
  float ll, mu_dmu, th_dth, d_pi;
};

CUVI_HD LikfZinb likf_zinb(float x, float mu, float theta, float pi, float eps, float* scale = nullptr) {
  LikfZinb o{0, 0, 0, 0};
  if (x != x || mu != mu || theta != theta || pi != pi) {
    o.ll = o.mu_dmu = o.th_dth = o.d_pi = NAN;
    return o;
  }
  const float mpi = -pi;
  if (x < eps) {
    const float tp = theta + eps;
    const float t = -theta * log1pf(mu / tp);
    const float a = mpi + t;
    float z, dz_dpi, dz_dt;
    if (mpi > 20.0f) {
      if (a > 20.0f) {
        z = t;
        dz_dpi = 0;
        dz_dt = 1;
      } else {
        z = a >= 0 ? t + log1pf(expf(-a)) : pi + log1pf(expf(a));
        dz_dpi = likf_sigmoid(-a);
        dz_dt = likf_sigmoid(a);
      }
    } else {
      const float s_mpi = likf_sigmoid(mpi);
      const float y = s_mpi * -expm1f(t);
      z = y < 0.5f ? log1pf(-y) : likf_logaddexp(-likf_softplus(mpi), -likf_softplus(pi) + t);
      dz_dt = likf_sigmoid(a);
      if (-t < 1.0f)
        dz_dpi = likf_sigmoid(pi) * dz_dt * expm1f(-t);
      else if (a >= 0)
        dz_dpi = likf_sigmoid(-a) - likf_sigmoid(pi);
      else
        dz_dpi = s_mpi - dz_dt;
    }
    likf_add(scale, t);
    likf_add(scale, z);
    o.ll = z;
    o.d_pi = dz_dpi;
    o.mu_dmu = dz_dt * (-theta * mu / (tp + mu));
    o.th_dth = dz_dt * theta * likf_nb_dt_dtheta(mu, theta, eps);
  } else if (x > eps) {
    const LikfNb nb = likf_nb(x, mu, theta, eps, scale);
    const bool flat = mpi > 20.0f;  // torch: softplus(-pi) = -pi exactly
    const float sp = flat ? 0.0f : -likf_softplus(pi);
    likf_add(scale, sp);
    o.ll = nb.ll + sp;
    o.mu_dmu = nb.mu_dmu;
    o.th_dth = nb.th_dth;
    o.d_pi = flat ? 0.0f : -likf_sigmoid(pi);
  }
  return o;
}

}  // namespace cuvi
