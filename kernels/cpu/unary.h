// CPU reference for elementwise activations (kernels/common/unary.h), computed in double; log1p
// through the branch-free vm_log1p (kernels/cpu/vmath.h) so that its loop vectorises.
#pragma once
#include <cstdint>

#include "kernels/common/unary.h"
#include "kernels/cpu/vmath.h"

namespace cuvi::cpu {

template <class T>
void unary_fwd(int kind, double a, const T* x, T* y, int64_t n) {
  if (kind == kLog1p) {  // the encoder's log1p of every count: branch-free vm_log1p vectorises
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(vm_log1p(double(x[i])));
    return;
  }
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(unary_value<double>(kind, double(x[i]), a));
}

template <class T>
void unary_bwd(int kind, double a, const T* x, const T* y, const T* dy, T* dx, bool accumulate, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) {
    const double g = double(dy[i]) * unary_deriv<double>(kind, double(x[i]), double(y[i]), a);
    dx[i] = static_cast<T>(accumulate ? double(dx[i]) + g : g);
  }
}

}  // namespace cuvi::cpu
