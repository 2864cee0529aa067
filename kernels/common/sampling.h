// Philox-driven samplers shared by the CPU reference and CUDA (spec scvi-multivi §1.4 sampling):
// Gamma (Marsaglia-Tsang with the u^(1/a) boost below shape 1), Poisson (inversion below rate 10,
// Hormann's PTRS above), NB as a Gamma-Poisson mixture, ZINB with a dropout draw. All in double.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"
#include "kernels/common/philox.h"

namespace cuvi {

// Output element e of a sampler owns Philox elements [e * 64, e * 64 + 64) of its stream, so each value
// depends only on (seed, step, stream, e), never on thread scheduling. Within that range:
//   [0, 16)   standard normals of the Gamma rejection loop (Box-Muller pairs of blocks 0-3)
//   [16, 32)  uniforms of the Gamma acceptance tests (blocks 4-7)
//   32        the boost uniform of Gamma shapes below 1; 33 the zero-inflation uniform
//   [36, 64)  uniforms of the Poisson sampler (one for inversion, pairs for PTRS)
// The word ranges are disjoint, so no two draws of an element share Philox bits.
// CPU and CUDA run these functions on the same Philox words, so they return the same counts except where
// an accept/reject comparison or a floor() lands within a few ulps of its threshold: glibc's and CUDA's
// log, exp, sin/cos, lgamma and the placement of fused multiply-adds can differ in the last bits of a
// double. The largest such risk is the PTRS floor(... + lam), which flips with probability of order
// ulp(lam): ~1e-11 per draw at rate 1e5, ~1e-8 at the 1e8 clamp; every other decision is ~1e-16.
// Continuous values (randn_like) can differ only in the last bit of the double, which survives the
// rounding to float with probability < 1e-8.
constexpr uint64_t kDrawsPerElement = 64;
constexpr int kGammaNormal0 = 0, kGammaUniform0 = 16, kGammaTries = 16;
constexpr int kGammaBoost = 32, kZeroInflation = 33;
constexpr int kPoissonUniform0 = 36, kPoissonTries = 14;
constexpr double kSampleRateMax = 1e8;  // scvi clamps the Gamma draw and the Poisson rate to 1e8

struct PhiloxSite {
  uint64_t seed;
  uint32_t step, stream;
  uint64_t base;  // e * kDrawsPerElement
  CUVI_HD double uniform(int k) const { return philox_uniform(seed, step, stream, base + k); }
  CUVI_HD double normal(int k) const { return philox_normal(seed, step, stream, base + k); }
};

// Gamma(shape, 1). Marsaglia & Tsang (2000): d = a - 1/3, c = 1/sqrt(9d); x ~ N(0,1), v = (1 + c x)^3,
// accept d v if u < 1 - 0.0331 x^4 or log u < x^2/2 + d (1 - v + log v). For a < 1 a draw of shape
// a + 1 is scaled by u^(1/a), computed as exp(log u / a) (underflows to 0 for tiny a, as it should).
// Acceptance is >= 95% per try; after kGammaTries failures (probability < 1e-20) the mode d is returned.
// Returns NaN for shape <= 0 or NaN, infinity for infinite shape.
CUVI_HD double sample_gamma(double shape, const PhiloxSite& site) {
  if (!(shape > 0)) return NAN;
  if (shape == INFINITY) return INFINITY;
  const double a = shape < 1.0 ? shape + 1.0 : shape;
  const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  double g = d;
  for (int i = 0; i < kGammaTries; ++i) {
    const double x = site.normal(kGammaNormal0 + i);
    double v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = site.uniform(kGammaUniform0 + i);
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2 || log(u) < 0.5 * x2 + d * (1.0 - v + log(v))) {
      g = d * v;
      break;
    }
  }
  if (shape < 1.0) g *= exp(log(site.uniform(kGammaBoost)) / shape);
  return g;
}

// Poisson(rate), rate clamped to 1e8. Below 10: inversion by sequential search with one uniform.
// From 10: PTRS, the transformed rejection of Hormann (1993), two uniforms per try, acceptance > 0.9;
// after kPoissonTries failures (probability < 1e-14) the rounded rate is returned.
CUVI_HD double sample_poisson(double rate, const PhiloxSite& site) {
  if (!(rate >= 0)) return NAN;
  const double lam = rate < kSampleRateMax ? rate : kSampleRateMax;
  if (lam == 0) return 0.0;
  if (lam < 10.0) {
    const double u = site.uniform(kPoissonUniform0);
    double k = 0, p = exp(-lam), cdf = p;
    while (u > cdf && k < 1000) {
      k += 1;
      p *= lam / k;
      cdf += p;
    }
    return k;
  }
  const double slam = sqrt(lam), loglam = log(lam);
  const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), v_r = 0.9277 - 3.6224 / (b - 2.0);
  for (int i = 0; i < kPoissonTries; ++i) {
    const double U = site.uniform(kPoissonUniform0 + 2 * i) - 0.5;
    const double V = site.uniform(kPoissonUniform0 + 2 * i + 1);
    const double us = 0.5 - fabs(U);
    const double k = floor((2.0 * a / us + b) * U + lam + 0.43);
    if (us >= 0.07 && V <= v_r) return k;
    if (k < 0 || (us < 0.013 && V > us)) continue;
    if (log(V) + log(inv_alpha) - log(a / (us * us) + b) <= -lam + k * loglam - lgamma(k + 1.0)) return k;
  }
  return floor(lam + 0.5);
}

// NB(mu, theta) as scvi samples it: w ~ Gamma(shape theta, rate theta/mu), w <= 1e8, x ~ Poisson(w).
// mu = 0 gives 0; theta = inf gives Poisson(mu); mu < 0, theta <= 0 or NaN give NaN.
CUVI_HD double sample_nb(double mu, double theta, const PhiloxSite& site) {
  if (!(mu >= 0) || !(theta > 0)) return NAN;
  if (mu == 0) return 0.0;
  double w = theta == INFINITY ? mu : sample_gamma(theta, site) * (mu / theta);
  if (!(w <= kSampleRateMax)) w = kSampleRateMax;  // an infinite mu is clamped as well
  return sample_poisson(w, site);
}

// ZINB: the NB draw, zeroed with probability sigmoid(pi) (pi are the dropout logits).
CUVI_HD double sample_zinb(double mu, double theta, double pi, const PhiloxSite& site) {
  if (pi != pi) return NAN;
  const double c = sample_nb(mu, theta, site);
  const double p_zero = pi >= 0 ? 1.0 / (1.0 + exp(-pi)) : exp(pi) / (1.0 + exp(pi));
  return site.uniform(kZeroInflation) < p_zero ? 0.0 : c;
}

}  // namespace cuvi
