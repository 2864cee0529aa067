// CPU reference for the fused optimizer: global gradient norm (for clipping) and the Adam/AdamW
// update over segments of the flat parameter buffer (kernels/common/adam.h).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/adam.h"
#include "kernels/cpu/vmath.h"

namespace cuvi::cpu {

// segments: (S, 2) [start, length] into the flat buffers.
inline double grad_norm(const float* g, const int64_t* segments, int64_t n_segments) {
  double s = 0;
  for (int64_t k = 0; k < n_segments; ++k) {
    const float* x = g + segments[2 * k];
    const int64_t n = segments[2 * k + 1];
    double part = 0;
#pragma omp parallel for reduction(+ : part) schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) part += double(x[i]) * double(x[i]);
    s += part;
  }
  return std::sqrt(s);
}

// sqrtf(x) for float x >= 0: the double square root of vm_sqrt (within 2 ulps of double) rounds to the
// correctly rounded float, since sqrt of a float is never within 2^-51 (relative) of a float rounding
// boundary (checked for every float in [1, 4) in tests/ops/test_vmath.cpp; the rest follow by scaling).
struct AdamSqrtVec {
  static CUVI_VMATH float of(float x) { return static_cast<float>(vm_sqrt(static_cast<double>(x))); }
};

// One segment with the weight-decay mode fixed (adam_update's branches resolved at compile time), so
// that the element loop has no branch and vectorises.
template <class T, int Decay>  // 0: none, 1: coupled L2 (Adam), 2: decoupled (AdamW)
void adam_segment(const AdamConstants& c, T* p, const T* g, T* m, T* v, int64_t start, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = start; i < start + n; ++i) {
    float pf = float(p[i]), gf = float(g[i]) * c.grad_scale, mf = float(m[i]), vf = float(v[i]);
    if constexpr (Decay == 2) pf = adam_decoupled_shrink(c, pf);
    if constexpr (Decay == 1) gf = adam_coupled_grad(c, pf, gf);
    adam_moments_step<AdamSqrtVec>(c, pf, gf, mf, vf);
    p[i] = T(pf);
    m[i] = T(mf);
    v[i] = T(vf);
  }
}

template <class T>
void adam_step(const AdamConstants& c, T* p, const T* g, T* m, T* v, const int64_t* segments, int64_t n_segments) {
  for (int64_t k = 0; k < n_segments; ++k) {
    const int64_t start = segments[2 * k], n = segments[2 * k + 1];
    if (c.decoupled)
      adam_segment<T, 2>(c, p, g, m, v, start, n);
    else if (c.weight_decay != 0.f)
      adam_segment<T, 1>(c, p, g, m, v, start, n);
    else
      adam_segment<T, 0>(c, p, g, m, v, start, n);
  }
}

}  // namespace cuvi::cpu
