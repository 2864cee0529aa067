// CUDA Linear: cuBLAS SGEMM (pedantic fp32) for x W^T, dx and dW; fused bias + covariate kernels.
// Column reductions are one thread per output column: deterministic, no atomics.
#include "kernels/cuda/check.h"
#include "kernels/cuda/linear.h"

namespace cuvi::cuda {

void gemm_rm(cublasHandle_t h, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
             int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  // Row-major C = op(A) op(B)  <=>  column-major C^T = op(B)^T op(A)^T.
  const float one = 1.f, beta = accumulate ? 1.f : 0.f;
  check(cublasSgemm(h, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, int(N), int(M),
                    int(K), &one, B, int(ldb), A, int(lda), &beta, C, int(ldc)),
        "cublasSgemm");
}

__global__ void bias_codes_kernel(float* __restrict__ y, const float* __restrict__ w, const float* __restrict__ b,
                                  const int32_t* __restrict__ codes, int64_t N, int64_t K, int64_t ldw, int64_t M,
                                  int64_t J) {
  const int64_t total = N * M;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / M, m = i - n * M;
    float v = y[i];
    if (b) v += b[m];
    if (codes)
      for (int64_t j = 0; j < J; ++j) {
        const int32_t c = codes[n * J + j];
        if (c >= 0) v += w[m * ldw + K + c];
      }
    y[i] = v;
  }
}

void linear_fwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w, const float* b,
                const int32_t* codes, float* y, int64_t N, int64_t K, int64_t C, int64_t M, int64_t J) {
  check(cublasSetStream(h, s), "cublasSetStream");
  if (K > 0)
    gemm_rm(h, false, true, N, M, K, x, K, w, K + C, y, M, false);
  else
    check(cudaMemsetAsync(y, 0, size_t(N * M) * sizeof(float), s), "linear zero fill");  // pure covariate lookup
  if (b || codes) {
    bias_codes_kernel<<<grid_for(N * M, 256), 256, 0, s>>>(y, w, b, codes, N, K, K + C, M, J);
    check_launch("linear bias/covariates");
  }
}

// One thread per output column m: db[m] and the covariate columns of dW row m.
__global__ void linear_bwd_cols_kernel(const float* __restrict__ dy, const int32_t* __restrict__ codes,
                                       float* __restrict__ dw, float* __restrict__ db, bool acc_w, bool acc_b,
                                       int64_t N, int64_t K, int64_t C, int64_t M, int64_t J) {
  const int64_t m = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (m >= M) return;
  if (db) {
    float s = acc_b ? db[m] : 0.f;
    for (int64_t n = 0; n < N; ++n) s += dy[n * M + m];
    db[m] = s;
  }
  if (dw && C > 0) {
    float* row = dw + m * (K + C) + K;
    if (!acc_w)
      for (int64_t c = 0; c < C; ++c) row[c] = 0.f;
    if (codes)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < J; ++j) {
          const int32_t c = codes[n * J + j];
          if (c >= 0) row[c] += dy[n * M + m];
        }
  }
}

void linear_bwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w, const int32_t* codes,
                const float* dy, float* dx, float* dw, float* db, bool acc_x, bool acc_w, bool acc_b, int64_t N,
                int64_t K, int64_t C, int64_t M, int64_t J) {
  check(cublasSetStream(h, s), "cublasSetStream");
  const int64_t ldw = K + C;
  if (dx && K > 0) gemm_rm(h, false, false, N, K, M, dy, M, w, ldw, dx, K, acc_x);
  if (dw && K > 0) gemm_rm(h, true, false, M, K, N, dy, M, x, K, dw, ldw, acc_w);
  if (db || (dw && C > 0)) {
    linear_bwd_cols_kernel<<<grid_for(M, 128), 128, 0, s>>>(dy, codes, dw, db, acc_w, acc_b, N, K, C, M, J);
    check_launch("linear column reductions");
  }
}

}  // namespace cuvi::cuda
