// CPU reference of the multimodal ops: MULTIVI's mix_modalities (scvi-multivi.md §2.3: masked softmax
// of the modality weights with eps 1e-30, weighted sum of per-modality posterior parameters) and
// pick_cols (one column per row, e.g. the log-probability of a cell's own batch, §2.5).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/cpu/reduce.h"

namespace cuvi::cpu {

// Row weights a_k = e_k / (sum_j e_j + eps + extra), e_k = exp(w_k) where mask_k != 0 else eps (torch's
// masked_softmax of scvi-tools, not max-shifted); t_k = sqrt(a_k) when sqrt_weights, else a_k.
// y[n, d] = sum_k t_k x[n, k D + d]. a is saved for the backward pass.
template <class T>
void mix_modalities_fwd(const T* w,     // (N, K) logits
                        const T* mask,  // (N, K) 0/1
                        const T* x,     // (N, K * D)
                        T* y,           // (N, D)
                        T* a,           // (N, K)
                        int64_t N, int64_t K, int64_t D, double eps, double extra, bool sqrt_weights) {
#pragma omp parallel for schedule(static) if (N * K * D > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    double e[8], s = eps + extra;
    for (int64_t k = 0; k < K; ++k) {
      e[k] = mask[n * K + k] != T(0) ? std::exp(double(w[n * K + k])) : eps;
      s += e[k];
    }
    double t[8];
    for (int64_t k = 0; k < K; ++k) {
      const double ak = e[k] / s;
      a[n * K + k] = T(ak);
      t[k] = sqrt_weights ? std::sqrt(ak) : ak;
    }
    for (int64_t d = 0; d < D; ++d) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += t[k] * double(x[n * K * D + k * D + d]);
      y[n * D + d] = T(acc);
    }
  }
}

// dx[n, kD + d] = t_k dy[n, d]; dw_k = mask_k (g_k - a_k sum_j g_j) with g_k = a_k dL/da_k
// (= a_k dt_k, or sqrt(a_k) dt_k / 2 for square-root weights), dt_k = sum_d dy[n, d] x[n, kD + d].
template <class T>
void mix_modalities_bwd(const T* mask,  // (N, K)
                        const T* x,     // (N, K * D)
                        const T* a,     // (N, K) saved weights
                        const T* dy,    // (N, D)
                        T* dw,          // (N, K) or null
                        T* dx,          // (N, K * D) or null
                        bool acc_w, bool acc_x, int64_t N, int64_t K, int64_t D, bool sqrt_weights) {
#pragma omp parallel for schedule(static) if (N * K * D > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    double g[8], gs = 0;
    for (int64_t k = 0; k < K; ++k) {
      const double ak = double(a[n * K + k]);
      const double tk = sqrt_weights ? std::sqrt(ak) : ak;
      double dt = 0;
      for (int64_t d = 0; d < D; ++d) {
        const double gy = double(dy[n * D + d]);
        dt += gy * double(x[n * K * D + k * D + d]);
        if (dx) store(dx + n * K * D + k * D + d, tk * gy, acc_x);
      }
      g[k] = sqrt_weights ? 0.5 * tk * dt : ak * dt;
      gs += g[k];
    }
    if (dw)
      for (int64_t k = 0; k < K; ++k) {
        const double v = mask[n * K + k] != T(0) ? g[k] - double(a[n * K + k]) * gs : 0.0;
        store(dw + n * K + k, v, acc_w);
      }
  }
}

// y[n] = x[n, codes[n]] (codes validated by the caller).
template <class T>
void pick_cols_fwd(const T* x,             // (N, F)
                   const int32_t* codes,   // (N)
                   T* y,                   // (N)
                   int64_t N, int64_t F) {
  for (int64_t n = 0; n < N; ++n) y[n] = x[n * F + codes[n]];
}

// dx[n, f] (+)= dy[n] where f == codes[n], 0 elsewhere.
template <class T>
void pick_cols_bwd(const int32_t* codes,  // (N)
                   const T* dy,           // (N)
                   T* dx,                 // (N, F)
                   bool accumulate, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f) store(dx + n * F + f, f == codes[n] ? double(dy[n]) : 0.0, accumulate);
}

}  // namespace cuvi::cpu
