// One Adam / AdamW element update exactly as torch.optim.Adam(W) (single-tensor path, fp32),
// shared by the CPU reference and the CUDA kernel (scvi-multivi.md §0; mrvi.md §4).
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace cuvi {

struct AdamConstants {
  float lr, beta1, beta2, eps, weight_decay;
  float step_size;             // lr / (1 - beta1^t), from double
  float bias_correction2_sqrt; // sqrt(1 - beta2^t), from double
  float grad_scale;            // global-norm clipping factor (1 when off)
  bool decoupled;              // AdamW
};

CUVI_HD AdamConstants adam_constants(double lr, double beta1, double beta2, double eps, double weight_decay,
                                     bool decoupled, long long t, double grad_scale) {
  AdamConstants c;
  c.lr = float(lr);
  c.beta1 = float(beta1);
  c.beta2 = float(beta2);
  c.eps = float(eps);
  c.weight_decay = float(weight_decay);
  c.step_size = float(lr / (1.0 - pow(beta1, double(t))));
  c.bias_correction2_sqrt = float(sqrt(1.0 - pow(beta2, double(t))));
  c.grad_scale = float(grad_scale);
  c.decoupled = decoupled;
  return c;
}

// The square root of the update: sqrtf; the CPU passes a correctly rounded one that its loops vectorise.
struct AdamSqrtf {
  static CUVI_HD float of(float x) { return sqrtf(x); }
};

// Forced inline on the host: a call left in the CPU element loop keeps it scalar.
#if defined(__CUDACC__)
#define CUVI_ADAM_INLINE CUVI_HD
#else
#define CUVI_ADAM_INLINE inline __attribute__((always_inline))
#endif

// Coupled L2 enters the gradient, decoupled decay shrinks the parameter (before the moments).
CUVI_ADAM_INLINE float adam_coupled_grad(const AdamConstants& c, float p, float g) { return g + c.weight_decay * p; }
CUVI_ADAM_INLINE float adam_decoupled_shrink(const AdamConstants& c, float p) { return p * (1.f - c.lr * c.weight_decay); }

// The moments and the step, given the (clipped, decayed) gradient g.
template <class Sqrt = AdamSqrtf>
CUVI_ADAM_INLINE void adam_moments_step(const AdamConstants& c, float& p, float g, float& m, float& v) {
  m = m + (1.f - c.beta1) * (g - m);  // torch.lerp with weight < 0.5
  v = v * c.beta2 + (1.f - c.beta2) * g * g;
  const float denom = Sqrt::of(v) / c.bias_correction2_sqrt + c.eps;
  p = p + (-c.step_size) * (m / denom);
}

CUVI_HD void adam_update(const AdamConstants& c, float& p, float g, float& m, float& v) {
  g *= c.grad_scale;
  if (c.decoupled) {
    p = adam_decoupled_shrink(c, p);
  } else if (c.weight_decay != 0.f) {
    g = adam_coupled_grad(c, p, g);
  }
  adam_moments_step(c, p, g, m, v);
}

}  // namespace cuvi
