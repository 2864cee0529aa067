// CPU reference GEMM, row-major: C(M,N) (+)= op(A)(M,K) * op(B)(K,N), double accumulators.
// Dot form when op(B) is B^T (rows of A and B contiguous in k), axpy form otherwise; threads over M.
#pragma once
#include <cstdint>
#include <vector>

namespace cuvi::cpu {

// Dot product with 8 independent double partial sums: vectorises without reassociating.
template <class T>
inline double dot_acc(const T* a, const T* b, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) acc[j] += static_cast<double>(a[k + j]) * static_cast<double>(b[k + j]);
  double tail = 0;
  for (; k < n; ++k) tail += static_cast<double>(a[k]) * static_cast<double>(b[k]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

// trans_a: A is stored (K, M); trans_b: B is stored (N, K). lda/ldb/ldc are row strides.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
          int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  if (trans_b && !trans_a) {
#pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      const T* a = A + m * lda;
      T* c = C + m * ldc;
      for (int64_t n = 0; n < N; ++n) {
        const double v = dot_acc(a, B + n * ldb, K);
        c[n] = static_cast<T>(accumulate ? static_cast<double>(c[n]) + v : v);
      }
    }
    return;
  }
#pragma omp parallel
  {
    std::vector<double> row(static_cast<size_t>(N));
#pragma omp for schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      T* c = C + m * ldc;
      for (int64_t n = 0; n < N; ++n) row[n] = accumulate ? static_cast<double>(c[n]) : 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double a = static_cast<double>(trans_a ? A[k * lda + m] : A[m * lda + k]);
        if (!trans_b) {
          const T* b = B + k * ldb;
          for (int64_t n = 0; n < N; ++n) row[n] += a * static_cast<double>(b[n]);
        } else {
          for (int64_t n = 0; n < N; ++n) row[n] += a * static_cast<double>(B[n * ldb + k]);
        }
      }
      for (int64_t n = 0; n < N; ++n) c[n] = static_cast<T>(row[n]);
    }
  }
}

}  // namespace cuvi::cpu
