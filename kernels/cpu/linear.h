// CPU reference for Linear with bias and one-hot covariate injection (scvi FCLayers, spec §1.2):
// y = x W[:, :K]^T + sum_j W[:, K + codes[n, j]] + b. Codes are column offsets past K (-1: none).
#pragma once
#include <cstdint>

#include "kernels/cpu/gemm.h"

namespace cuvi::cpu {

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
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    T* yr = y + n * M;
    for (int64_t m = 0; m < M; ++m) {
      double v = static_cast<double>(yr[m]);
      if (b) v += static_cast<double>(b[m]);
      if (codes)
        for (int64_t j = 0; j < J; ++j) {
          const int32_t c = codes[n * J + j];
          if (c >= 0) v += static_cast<double>(w[m * ldw + K + c]);
        }
      yr[m] = static_cast<T>(v);
    }
  }
}

// Any of dx, dw, db may be null. acc_*: add into the buffer instead of overwriting it.
template <class T>
void linear_bwd(const T* x, const T* w, const int32_t* codes, const T* dy,  // dy: (N, M)
                T* dx, T* dw, T* db, bool acc_x, bool acc_w, bool acc_b,
                int64_t N, int64_t K, int64_t C, int64_t M, int64_t J) {
  const int64_t ldw = K + C;
  if (dx) gemm<T>(false, false, N, K, M, dy, M, w, ldw, dx, K, acc_x);
  if (dw) {
    gemm<T>(true, false, M, K, N, dy, M, x, K, dw, ldw, acc_w);
    if (C > 0) {
#pragma omp parallel for schedule(static)
      for (int64_t m = 0; m < M; ++m) {
        T* row = dw + m * ldw + K;
        if (!acc_w)
          for (int64_t c = 0; c < C; ++c) row[c] = T(0);
        if (!codes) continue;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t j = 0; j < J; ++j) {
            const int32_t c = codes[n * J + j];
            if (c >= 0) row[c] += dy[n * M + m];
          }
      }
    }
  }
  if (db) {
#pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      double s = acc_b ? static_cast<double>(db[m]) : 0.0;
      for (int64_t n = 0; n < N; ++n) s += static_cast<double>(dy[n * M + m]);
      db[m] = static_cast<T>(s);
    }
  }
}

}  // namespace cuvi::cpu
