// CPU reference of MULTIVI's accessibility reconstruction (scvi-multivi.md §2.4, PeakVI's loss):
// q = sigmoid(l) d sigmoid(f) (products in the op's precision, as torch's float32), ll = sum_r of
// torch's BCE log-likelihood of t = 1[x > 0] (logs clamped at -100, zero slope where clamped).
// One fused pass instead of sigmoid, two products, a binarisation and a likelihood over (N, R);
// branch-free element math (kernels/cpu/vmath.h) so that the region loops vectorise.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/reduce.h"
#include "kernels/cpu/vmath.h"

namespace cuvi::cpu {

// log(v) < -100 exactly when v < e^-100 (no float32 value lies within rounding of the threshold).
constexpr double kAccLogClamp = 3.7200759760208361e-44;  // e^-100
constexpr int64_t kAccTileRows = 8;                       // rows per partial of the region-factor gradient

template <class T>
CUVI_VMATH T acc_sigmoid(T l) { return static_cast<T>(vm_sigmoid(static_cast<double>(l))); }

// q in the op's precision: (sigmoid(l) * d) * a, as torch multiplies float32 tensors.
template <class T>
CUVI_VMATH double acc_q(T s, T d, T a) { return static_cast<double>(static_cast<T>(static_cast<T>(s * d) * a)); }

// BCE log-likelihood of one element: max(log(q), -100) if t else max(log(1 - q), -100).
CUVI_VMATH double acc_ll(bool t, double q) {
  const double lv = vm_log(vm_select(t, q, 1.0 - q));
  return vm_select(lv < -100.0, -100.0, lv);
}

// d ll / d q with torch's clamps (zero slope where the log is clamped).
CUVI_VMATH double acc_dq(bool t, double q) {
  const double v = vm_select(t, q, 1.0 - q);
  const double g = vm_select(v < kAccLogClamp, 0.0, 1.0 / vm_select(v < kAccLogClamp, 1.0, v));
  return vm_select(t, g, -g);
}

// sigmoid of the region factors (1 without them), in the op's precision.
template <class T>
std::vector<T> acc_region_sigmoid(const T* f, int64_t R) {
  std::vector<T> a(static_cast<size_t>(R), T(1));
  if (f)
    for (int64_t r = 0; r < R; ++r) a[size_t(r)] = acc_sigmoid(f[r]);
  return a;
}

template <class T>
void accessibility_fwd(const T* x,       // (N, R) counts
                       const T* logits,  // (N, R) accessibility decoder, before its sigmoid
                       const T* d,       // (N) cell factor
                       const T* f,       // (R) raw region factors, or null
                       T* ll,            // (N)
                       int64_t N, int64_t R) {
  const std::vector<T> a = acc_region_sigmoid(f, R);
#pragma omp parallel for schedule(static) if (N * R > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * R;
    const T* lr = logits + n * R;
    const T dn = d[n];
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t r = 0;
    for (; r + 8 <= R; r += 8)
      for (int k = 0; k < 8; ++k)
        lane[k] += acc_ll(xr[r + k] > T(0), acc_q(acc_sigmoid(lr[r + k]), dn, a[size_t(r + k)]));
    double s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    for (; r < R; ++r) s += acc_ll(xr[r] > T(0), acc_q(acc_sigmoid(lr[r]), dn, a[size_t(r)]));
    ll[n] = static_cast<T>(s);
  }
}

// dlogits (N, R), dd (N), df (R): any may be null; acc_*: add into the buffer. With w = dll q' s:
// dlogits = w d a (1 - s), dd = sum_r w a, df = a (1 - a) sum_n w d (summed per tile of rows, then
// over the tiles in order: the result does not depend on the thread count).
template <class T>
void accessibility_bwd(const T* x, const T* logits, const T* d, const T* f,
                       const T* dll,  // (N)
                       T* dlogits, T* dd, T* df, bool acc_l, bool acc_d, bool acc_f, int64_t N, int64_t R) {
  const std::vector<T> a = acc_region_sigmoid(f, R);
  const int64_t tiles = (N + kAccTileRows - 1) / kAccTileRows;
  std::vector<double> part(df ? static_cast<size_t>(tiles * R) : 0, 0.0);
#pragma omp parallel for schedule(static) if (N * R > kParallelMin)
  for (int64_t t = 0; t < tiles; ++t) {
    std::vector<double> w(static_cast<size_t>(R));
    double* col = df ? part.data() + t * R : nullptr;
    for (int64_t n = t * kAccTileRows; n < std::min(N, (t + 1) * kAccTileRows); ++n) {
      const T* xr = x + n * R;
      const T* lr = logits + n * R;
      const T dn = d[n];
      const double g = static_cast<double>(dll[n]), dd_n = static_cast<double>(dn);
      for (int64_t r = 0; r < R; ++r) {
        const T s = acc_sigmoid(lr[r]);
        w[size_t(r)] = g * acc_dq(xr[r] > T(0), acc_q(s, dn, a[size_t(r)])) * static_cast<double>(s);
      }
      if (dlogits) {
        T* out = dlogits + n * R;
        if (acc_l)
          for (int64_t r = 0; r < R; ++r)
            out[r] = static_cast<T>(static_cast<double>(out[r]) + w[size_t(r)] * dd_n * static_cast<double>(a[size_t(r)]) *
                                                                       (1.0 - static_cast<double>(acc_sigmoid(lr[r]))));
        else
          for (int64_t r = 0; r < R; ++r)
            out[r] = static_cast<T>(w[size_t(r)] * dd_n * static_cast<double>(a[size_t(r)]) *
                                    (1.0 - static_cast<double>(acc_sigmoid(lr[r]))));
      }
      if (dd) {
        double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t r = 0;
        for (; r + 8 <= R; r += 8)
          for (int k = 0; k < 8; ++k) lane[k] += w[size_t(r + k)] * static_cast<double>(a[size_t(r + k)]);
        double s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        for (; r < R; ++r) s += w[size_t(r)] * static_cast<double>(a[size_t(r)]);
        store(dd + n, s, acc_d);
      }
      if (col)
        for (int64_t r = 0; r < R; ++r) col[r] += w[size_t(r)] * dd_n;
    }
  }
  if (df) {
#pragma omp parallel for schedule(static) if (tiles * R > kParallelMin)
    for (int64_t r = 0; r < R; ++r) {
      double s = 0;
      for (int64_t t = 0; t < tiles; ++t) s += part[size_t(t * R + r)];
      const double ar = static_cast<double>(a[size_t(r)]);
      store(df + r, s * ar * (1.0 - ar), acc_f);
    }
  }
}

}  // namespace cuvi::cpu
