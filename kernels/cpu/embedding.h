// CPU reference for the embedding lookup (scvi batch_representation="embedding", MRVI sample embeddings) and
// gather_csr_rows, the minibatch densify step of the device-resident loader (DESIGN.md decision 5).
// Codes, rows and column indices are validated by the caller; these loops assume them in range.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu/reduce.h"

namespace cuvi::cpu {

// y[n, :] = table[codes[n], :]
template <class T>
void embedding_fwd(const T* table,         // (S, F)
                   const int32_t* codes,   // (N)
                   T* y,                   // (N, F)
                   int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const T* src = table + int64_t(codes[n]) * F;
    std::copy(src, src + F, y + n * F);
  }
}

// dtable[s, :] (+)= sum over rows n with codes[n] == s of dy[n, :], rows taken in order.
template <class T>
void embedding_bwd(const int32_t* codes,  // (N)
                   const T* dy,           // (N, F)
                   T* dtable,             // (S, F)
                   bool accumulate, int64_t N, int64_t F, int64_t S) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t f0 = 0; f0 < F; f0 += kColBlock) {
    const int64_t width = std::min(kColBlock, F - f0);
    std::vector<double> acc(static_cast<size_t>(S * width), 0.0);
    for (int64_t n = 0; n < N; ++n) {
      double* row = acc.data() + int64_t(codes[n]) * width;
      const T* g = dy + n * F + f0;
      for (int64_t j = 0; j < width; ++j) row[j] += double(g[j]);
    }
    for (int64_t s = 0; s < S; ++s)
      for (int64_t j = 0; j < width; ++j) store(dtable + s * F + f0 + j, acc[s * width + j], accumulate);
  }
}

// x[n, :] = dense row rows[n] of the CSR matrix (indptr, indices, data) with G columns, x_log1p = log1p(x)
// (the encoder input) and log_library[n] = log(sum_g x[n, g]) (the observed log library), in one pass.
// Column indices within a row are distinct (canonical CSR); every element of the outputs is written.
template <class T, class Index>
void gather_csr_rows(const Index* indptr,     // (R + 1)
                     const int32_t* indices,  // (nnz)
                     const T* data,           // (nnz)
                     const int32_t* rows,     // (N)
                     T* x,                    // (N, G)
                     T* x_log1p,              // (N, G)
                     T* log_library,          // (N)
                     int64_t N, int64_t G) {
#pragma omp parallel for schedule(static) if (N * G > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    T* xr = x + n * G;
    T* lr = x_log1p + n * G;
    std::fill(xr, xr + G, T(0));
    std::fill(lr, lr + G, T(0));
    const int64_t r = rows[n];
    double total = 0;
    for (int64_t k = int64_t(indptr[r]); k < int64_t(indptr[r + 1]); ++k) {
      xr[indices[k]] = data[k];
      lr[indices[k]] = static_cast<T>(std::log1p(double(data[k])));
      total += double(data[k]);
    }
    log_library[n] = static_cast<T>(std::log(total));
  }
}

}  // namespace cuvi::cpu
