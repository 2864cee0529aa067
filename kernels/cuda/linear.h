// CUDA launchers for Linear with bias and covariate injection (cuBLAS GEMMs + small fused kernels).
// Same contract as kernels/cpu/linear.h; all pointers are device pointers, row-major.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

void linear_fwd(cublasHandle_t h, cudaStream_t s,
                const float* x,            // (N, K)
                const float* w,            // (M, K + C)
                const float* b,            // (M) or null
                const int32_t* codes,      // (N, J) or null
                float* y,                  // (N, M)
                int64_t N, int64_t K, int64_t C, int64_t M, int64_t J);

void linear_bwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w, const int32_t* codes,
                const float* dy,           // (N, M)
                float* dx, float* dw, float* db, bool acc_x, bool acc_w, bool acc_b,
                int64_t N, int64_t K, int64_t C, int64_t M, int64_t J);

// Two heads on one input (SCVI's px_scale and px_dropout decoders): y_i = x W_i^T + b_i, i = 1, 2, as one
// strided-batched SGEMM (two when the operands' memory order disagrees) and one bias kernel; backward: the two
// dW as one batched SGEMM, dx as two accumulating SGEMMs, both bias gradients in one kernel. dy_i may be null.
void linear_pair_fwd(cublasHandle_t h, cudaStream_t s,
                     const float* x,              // (N, K)
                     const float* w1,             // (M, K)
                     const float* b1,             // (M) or null
                     const float* w2,             // (M, K)
                     const float* b2,             // (M) or null
                     float* y1, float* y2,        // (N, M)
                     int64_t N, int64_t K, int64_t M);
void linear_pair_bwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w1, const float* w2,
                     const float* dy1, const float* dy2,  // (N, M) or null
                     float* dx, float* dw1, float* db1, float* dw2, float* db2, bool acc_x, bool acc_w1,
                     bool acc_b1, bool acc_w2, bool acc_b2, int64_t N, int64_t K, int64_t M);

// Row-major C(M,N) (+)= op(A) op(B) through cuBLAS (shared by ops that need a plain GEMM).
void gemm_rm(cublasHandle_t h, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
             int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate);

}  // namespace cuvi::cuda
