// CPU reference for the fused optimizer: global gradient norm (for clipping) and the Adam/AdamW
// update over segments of the flat parameter buffer (kernels/common/adam.h).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/adam.h"

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

// One segment with the weight-decay mode fixed, so that the element loop has no branch and vectorises.
template <class T, int Decay>  // 0: none, 1: coupled L2 (Adam), 2: decoupled (AdamW)
void adam_segment(AdamConstants c, T* p, const T* g, T* m, T* v, int64_t start, int64_t n) {
  c.decoupled = Decay == 2;
  if (Decay == 0) c.weight_decay = 0.f;
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = start; i < start + n; ++i) {
    float pf = float(p[i]), mf = float(m[i]), vf = float(v[i]);
    adam_update(c, pf, float(g[i]), mf, vf);
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
