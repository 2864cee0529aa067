// CPU GEMM, row-major: C(M,N) (+)= op(A)(M,K) * op(B)(K,N) through OpenBLAS (cblas_sgemm / cblas_dgemm),
// which picks its kernels for the running CPU. fp32 in, fp32 out, like torch; the f64 instantiation is
// the registry's oracle. Threads: OpenBLAS's OpenMP build shares the OpenMP pool sized by --threads.
#pragma once
#include <algorithm>
#include <cstdint>

#include <cblas.h>

namespace cuvi::cpu {

// trans_a: A is stored (K, M); trans_b: B is stored (N, K). lda/ldb/ldc are row strides.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
          int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // empty sum: BLAS rejects lda = 0, and the result is 0 (or C unchanged)
    if (!accumulate)
      for (int64_t m = 0; m < M; ++m) std::fill(C + m * ldc, C + m * ldc + N, T(0));
    return;
  }
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  // BLAS wants each leading dimension at least the stored row length, even for a single row.
  const int64_t lda_min = trans_a ? M : K, ldb_min = trans_b ? K : N;
  const blasint la = blasint(std::max(lda, lda_min)), lb = blasint(std::max(ldb, ldb_min)),
                lc = blasint(std::max(ldc, N));
  const T beta = accumulate ? T(1) : T(0);
  if constexpr (sizeof(T) == 4)
    cblas_sgemm(CblasRowMajor, ta, tb, blasint(M), blasint(N), blasint(K), 1.0f, A, la, B, lb, beta, C, lc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, blasint(M), blasint(N), blasint(K), 1.0, A, la, B, lb, beta, C, lc);
}

}  // namespace cuvi::cpu
