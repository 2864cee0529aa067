// CPU reference for elementwise activations (kernels/common/unary.h), computed in double. One loop per
// kind; exp, softplus, sigmoid, log and log1p (and softplus's derivative) through the branch-free
// functions of kernels/cpu/vmath.h, so that those loops vectorise (libm calls keep a loop scalar).
#pragma once
#include <cstdint>
#include <type_traits>

#include "kernels/common/unary.h"
#include "kernels/cpu/vmath.h"

namespace cuvi::cpu {

// unary_value / unary_deriv of kernels/common/unary.h for a kind known at compile time.
template <int Kind>
CUVI_VMATH double unary_value_vec(double x, double a) {
  if constexpr (Kind == kExp) return vm_exp(x) + a;
  else if constexpr (Kind == kSoftplus) return vm_select(x > 20.0, x, vm_log1p(vm_exp(x)));  // torch threshold 20
  else if constexpr (Kind == kSigmoid) return vm_sigmoid(x);
  else if constexpr (Kind == kLog1p) return vm_log1p(x);
  else if constexpr (Kind == kLog) return vm_log(x);
  else return unary_value<double>(Kind, x, a);
}
template <int Kind>
CUVI_VMATH double unary_deriv_vec(double x, double y, double a) {
  if constexpr (Kind == kSoftplus) return vm_select(x > 20.0, 1.0, vm_sigmoid(x));
  else return unary_deriv<double>(Kind, x, y, a);
}

// Calls f(std::integral_constant<int, kind>{}) for a kind given at run time.
template <class F>
void unary_dispatch(int kind, F&& f) {
  switch (kind) {
    case kRelu: return f(std::integral_constant<int, kRelu>{});
    case kLeakyRelu: return f(std::integral_constant<int, kLeakyRelu>{});
    case kGelu: return f(std::integral_constant<int, kGelu>{});
    case kSoftplus: return f(std::integral_constant<int, kSoftplus>{});
    case kExp: return f(std::integral_constant<int, kExp>{});
    case kSigmoid: return f(std::integral_constant<int, kSigmoid>{});
    case kLog1p: return f(std::integral_constant<int, kLog1p>{});
    case kLog: return f(std::integral_constant<int, kLog>{});
    case kSqrt: return f(std::integral_constant<int, kSqrt>{});
    case kIsPositive: return f(std::integral_constant<int, kIsPositive>{});
  }
}

template <class T>
void unary_fwd(int kind, double a, const T* x, T* y, int64_t n) {
  unary_dispatch(kind, [&](auto k) {
    constexpr int K = decltype(k)::value;
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(unary_value_vec<K>(double(x[i]), a));
  });
}

template <class T>
void unary_bwd(int kind, double a, const T* x, const T* y, const T* dy, T* dx, bool accumulate, int64_t n) {
  unary_dispatch(kind, [&](auto k) {
    constexpr int K = decltype(k)::value;
    if (accumulate) {
#pragma omp parallel for schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i)
        dx[i] = static_cast<T>(double(dx[i]) + double(dy[i]) * unary_deriv_vec<K>(double(x[i]), double(y[i]), a));
    } else {
#pragma omp parallel for schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i)
        dx[i] = static_cast<T>(double(dy[i]) * unary_deriv_vec<K>(double(x[i]), double(y[i]), a));
    }
  });
}

}  // namespace cuvi::cpu
