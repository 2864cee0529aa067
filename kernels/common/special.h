// Special functions and stable primitives shared by the CPU reference and CUDA kernels (double).
// softplus follows torch (beta 1, threshold 20); digamma is our own series so both backends agree.
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace cuvi {

CUVI_HD double softplus_d(double x) { return x > 20.0 ? x : log1p(exp(x)); }
CUVI_HD float softplus_f(float x) { return x > 20.f ? x : log1pf(expf(x)); }
CUVI_HD double sigmoid_d(double x) {
  return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

// psi(x) for x > 0: recurrence up to x >= 6, then the asymptotic series (error < 1e-15).
CUVI_HD double digamma_d(double x) {
  double r = 0.0;
  while (x < 6.0) {
    r -= 1.0 / x;
    x += 1.0;
  }
  const double f = 1.0 / (x * x);
  const double t = f * (-1.0 / 12 + f * (1.0 / 120 + f * (-1.0 / 252 + f * (1.0 / 240 + f * (-1.0 / 132)))));
  return r + log(x) - 0.5 / x + t;
}

// psi'(x) for x > 0 (used by tests of Gamma/GammaPoisson second moments).
CUVI_HD double trigamma_d(double x) {
  double r = 0.0;
  while (x < 6.0) {
    r += 1.0 / (x * x);
    x += 1.0;
  }
  const double f = 1.0 / (x * x);
  const double t = 1.0 / x + f / 2 + f / x * (1.0 / 6 + f * (-1.0 / 30 + f * (1.0 / 42 + f * (-1.0 / 30))));
  return r + t;
}

CUVI_HD double lgamma_d(double x) { return lgamma(x); }

// lgamma(x + theta) - lgamma(theta): direct difference is exact enough in double for x <= 1e5,
// theta in [1e-4, 1e6] (absolute error ~1e-9 against ~1e7 magnitudes).
CUVI_HD double lgamma_ratio_d(double x, double theta) { return lgamma(x + theta) - lgamma(theta); }

}  // namespace cuvi
