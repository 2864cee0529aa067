// CPU reference for Linear with bias and one-hot covariate injection (scvi FCLayers, spec §1.2):
// y = x W[:, :K]^T + sum_j W[:, K + codes[n, j]] + b. Codes are column offsets past K (-1: none).
#pragma once
#include <cstdint>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/reduce.h"

namespace cuvi::cpu {

// Columns per strip of the row-streaming loops below: each strip walks the rows with unit stride and
// treats every column in the same order as a column-by-column loop would (the same sums).
constexpr int64_t kLinearStrip = 256;

template <class T>
void linear_fwd(const T* x,           // (N, K)
                const T* w,           // (M, K + C)
                const T* b,           // (M) or null
                const int32_t* codes, // (N, J) or null
                T* y,                 // (N, M)
                int64_t N, int64_t K, int64_t C, int64_t M, int64_t J) {
  const int64_t ldw = K + C;
  gemm<T>(false, true, N, M, K, x, K, w, ldw, y, M, false);
  if (!b && !codes) return;
  // y[n, m] = (x W^T)[n, m] + b[m] + sum_j W[m, K + codes[n, j]], summed in double in that order.
  const int64_t strips = (M + kLinearStrip - 1) / kLinearStrip;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < strips; ++s) {
      const int64_t m0 = s * kLinearStrip, width = m0 + kLinearStrip < M ? kLinearStrip : M - m0;
      T* yr = y + n * M + m0;
      double v[kLinearStrip];
      for (int64_t k = 0; k < width; ++k) v[k] = static_cast<double>(yr[k]);
      if (b)
        for (int64_t k = 0; k < width; ++k) v[k] += static_cast<double>(b[m0 + k]);
      if (codes)
        for (int64_t j = 0; j < J; ++j) {
          const int32_t c = codes[n * J + j];
          if (c < 0) continue;
          const T* col = w + m0 * ldw + K + c;
          for (int64_t k = 0; k < width; ++k) v[k] += static_cast<double>(col[k * ldw]);
        }
      for (int64_t k = 0; k < width; ++k) yr[k] = static_cast<T>(v[k]);
    }
}

// Any of dx, dw, db may be null. acc_*: add into the buffer instead of overwriting it.
template <class T>
void linear_bwd(const T* x, const T* w, const int32_t* codes, const T* dy,  // dy: (N, M)
                T* dx, T* dw, T* db, bool acc_x, bool acc_w, bool acc_b,
                int64_t N, int64_t K, int64_t C, int64_t M, int64_t J) {
  const int64_t ldw = K + C, strips = (M + kLinearStrip - 1) / kLinearStrip;
  if (dx) gemm<T>(false, false, N, K, M, dy, M, w, ldw, dx, K, acc_x);
  if (dw) {
    gemm<T>(true, false, M, K, N, dy, M, x, K, dw, ldw, acc_w);
    if (C > 0) {
      // dW[m, K + c] += dy[n, m] for every code c of row n, in the order (n, j) of each entry.
#pragma omp parallel for schedule(static)
      for (int64_t s = 0; s < strips; ++s) {
        const int64_t m0 = s * kLinearStrip, m1 = m0 + kLinearStrip < M ? m0 + kLinearStrip : M;
        if (!acc_w)
          for (int64_t m = m0; m < m1; ++m)
            for (int64_t c = 0; c < C; ++c) dw[m * ldw + K + c] = T(0);
        if (!codes) continue;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t j = 0; j < J; ++j) {
            const int32_t c = codes[n * J + j];
            if (c < 0) continue;
            T* col = dw + K + c;
            const T* dyr = dy + n * M;
            for (int64_t m = m0; m < m1; ++m) col[m * ldw] += dyr[m];
          }
      }
    }
  }
  if (db) sum_cols<T>(dy, nullptr, db, 1.0, acc_b, N, M);  // rows in order per column, in double
}

}  // namespace cuvi::cpu
