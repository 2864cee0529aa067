// CUDA Linear: cuBLAS SGEMM (pedantic fp32) for x W^T, dx and dW; fused bias + covariate kernels.
// Column reductions: a block per 32 columns, rows split over 8 thread rows and a fixed tree (no atomics).
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
  expect_stream(h, s);
  if (K > 0)
    gemm_rm(h, false, true, N, M, K, x, K, w, K + C, y, M, false);
  else
    check(cudaMemsetAsync(y, 0, size_t(N * M) * sizeof(float), s), "linear zero fill");  // pure covariate lookup
  if (b || codes) {
    bias_codes_kernel<<<grid_for(N * M, 256), 256, 0, s>>>(y, w, b, codes, N, K, K + C, M, J);
    check_launch("linear bias/covariates");
  }
}

// A (32 columns x 8 row groups) block per 32 output columns: each thread sums every 8th row of its column,
// then a fixed tree over the row groups gives db[m] (deterministic, no atomics). Thread row 0 then adds the
// covariate columns of dW row m (one pass over the codes per column).
constexpr int kBiasCols = 32, kBiasRows = 8;
__global__ void __launch_bounds__(kBiasCols * kBiasRows)
    linear_bwd_cols_kernel(const float* __restrict__ dy, const int32_t* __restrict__ codes, float* __restrict__ dw,
                           float* __restrict__ db, bool acc_w, bool acc_b, int64_t N, int64_t K, int64_t C, int64_t M,
                           int64_t J) {
  __shared__ float part[kBiasRows][kBiasCols + 1];
  const int64_t m = int64_t(blockIdx.x) * kBiasCols + threadIdx.x;
  const bool valid = m < M;
  if (db) {
    float s = 0.f;
    if (valid)
      for (int64_t n = threadIdx.y; n < N; n += kBiasRows) s += dy[n * M + m];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    for (int st = kBiasRows / 2; st > 0; st >>= 1) {
      if (int(threadIdx.y) < st) part[threadIdx.y][threadIdx.x] += part[threadIdx.y + st][threadIdx.x];
      __syncthreads();
    }
    if (valid && threadIdx.y == 0) db[m] = acc_b ? db[m] + part[0][threadIdx.x] : part[0][threadIdx.x];
  }
  if (!valid || threadIdx.y != 0 || !dw || C == 0) return;
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

void linear_bwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w, const int32_t* codes,
                const float* dy, float* dx, float* dw, float* db, bool acc_x, bool acc_w, bool acc_b, int64_t N,
                int64_t K, int64_t C, int64_t M, int64_t J) {
  expect_stream(h, s);
  const int64_t ldw = K + C;
  if (dx && K > 0) gemm_rm(h, false, false, N, K, M, dy, M, w, ldw, dx, K, acc_x);
  if (dw && K > 0) gemm_rm(h, true, false, M, K, N, dy, M, x, K, dw, ldw, acc_w);
  if (db || (dw && C > 0)) {
    const dim3 block(kBiasCols, kBiasRows);
    linear_bwd_cols_kernel<<<unsigned((M + kBiasCols - 1) / kBiasCols), block, 0, s>>>(dy, codes, dw, db, acc_w, acc_b,
                                                                                         N, K, C, M, J);
    check_launch("linear column reductions");
  }
}

// ---------------------------------------------------------------------------------------------------
// Two heads on one input (linear_pair): y_i = x W_i^T + b_i for i = 1, 2 in one strided-batched SGEMM.

namespace {

// Strided-batched SGEMM over a pair of operands (batch q = 0, 1 at base + q * stride): the strides of the
// batched operands must agree in sign, so the pair is issued in memory order; otherwise two SGEMMs.
struct PairOrder {
  bool batched;
  bool swap;  // the second operand comes first in memory
};
PairOrder pair_order(const float* a1, const float* a2, const float* c1, const float* c2) {
  const bool fa = a2 > a1, fc = c2 > c1;
  return {fa == fc, !fa};
}

__global__ void pair_bias_kernel(float* __restrict__ y1, float* __restrict__ y2, const float* __restrict__ b1,
                                 const float* __restrict__ b2, int64_t N, int64_t M) {
  const int64_t total = 2 * N * M;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const bool second = i >= N * M;
    const int64_t e = second ? i - N * M : i;
    const float* b = second ? b2 : b1;
    if (b) (second ? y2 : y1)[e] += b[e % M];
  }
}

// db_i[m] for both heads: a (32 columns x 8 row groups) block per 32 columns of one head, fixed tree over rows.
__global__ void __launch_bounds__(kBiasCols* kBiasRows)
    pair_bias_grad_kernel(const float* __restrict__ dy1, const float* __restrict__ dy2, float* __restrict__ db1,
                          float* __restrict__ db2, bool acc1, bool acc2, int64_t N, int64_t M) {
  __shared__ float part[kBiasRows][kBiasCols + 1];
  const int64_t tiles = (M + kBiasCols - 1) / kBiasCols;
  const bool second = int64_t(blockIdx.x) >= tiles;
  const int64_t m = (second ? int64_t(blockIdx.x) - tiles : int64_t(blockIdx.x)) * kBiasCols + threadIdx.x;
  const float* dy = second ? dy2 : dy1;
  float* db = second ? db2 : db1;
  const bool valid = m < M && db && dy;
  float s = 0.f;
  if (valid)
    for (int64_t n = threadIdx.y; n < N; n += kBiasRows) s += dy[n * M + m];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  for (int st = kBiasRows / 2; st > 0; st >>= 1) {
    if (int(threadIdx.y) < st) part[threadIdx.y][threadIdx.x] += part[threadIdx.y + st][threadIdx.x];
    __syncthreads();
  }
  if (valid && threadIdx.y == 0) db[m] = (second ? acc2 : acc1) ? db[m] + part[0][threadIdx.x] : part[0][threadIdx.x];
}

}  // namespace

void linear_pair_fwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w1, const float* b1,
                     const float* w2, const float* b2, float* y1, float* y2, int64_t N, int64_t K, int64_t M) {
  if (N <= 0 || M <= 0) return;
  expect_stream(h, s);
  if (K > 0) {
    const float one = 1.f, zero = 0.f;
    const PairOrder o = pair_order(w1, w2, y1, y2);
    const float *wa = o.swap ? w2 : w1, *wb = o.swap ? w1 : w2;
    float *ya = o.swap ? y2 : y1, *yb = o.swap ? y1 : y2;
    if (o.batched)  // row-major y_q = x W_q^T  <=>  column-major y_q^T (M x N) = (W_q as K x M)^T x^T
      check(cublasSgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, int(M), int(N), int(K), &one, wa, int(K),
                                      static_cast<long long>(wb - wa), x, int(K), 0, &zero, ya, int(M),
                                      static_cast<long long>(yb - ya), 2),
            "cublasSgemmStridedBatched (linear_pair)");
    else {
      gemm_rm(h, false, true, N, M, K, x, K, w1, K, y1, M, false);
      gemm_rm(h, false, true, N, M, K, x, K, w2, K, y2, M, false);
    }
  } else {
    check(cudaMemsetAsync(y1, 0, size_t(N * M) * sizeof(float), s), "linear_pair zero fill");
    check(cudaMemsetAsync(y2, 0, size_t(N * M) * sizeof(float), s), "linear_pair zero fill");
  }
  if (b1 || b2) {
    pair_bias_kernel<<<grid_for(2 * N * M, 256), 256, 0, s>>>(y1, y2, b1, b2, N, M);
    check_launch("linear_pair bias");
  }
}

void linear_pair_bwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w1, const float* w2,
                     const float* dy1, const float* dy2, float* dx, float* dw1, float* db1, float* dw2, float* db2,
                     bool acc_x, bool acc_w1, bool acc_b1, bool acc_w2, bool acc_b2, int64_t N, int64_t K,
                     int64_t M) {
  if (N <= 0 || M <= 0) return;
  expect_stream(h, s);
  const PairOrder o = pair_order(dy1, dy2, dw1, dw2);
  if (K > 0 && dw1 && dw2 && dy1 && dy2 && acc_w1 == acc_w2 && o.batched) {
    const float one = 1.f, beta = acc_w1 ? 1.f : 0.f;
    const float* da = o.swap ? dy2 : dy1;
    const float* dbb = o.swap ? dy1 : dy2;
    float* wa = o.swap ? dw2 : dw1;
    float* wb = o.swap ? dw1 : dw2;
    // Row-major dW_q (M x K) = dy_q^T x  <=>  column-major dW_q^T (K x M) = x^T dy_q.
    check(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_T, int(K), int(M), int(N), &one, x, int(K), 0, da,
                                    int(M), static_cast<long long>(dbb - da), &beta, wa, int(K),
                                    static_cast<long long>(wb - wa), 2),
          "cublasSgemmStridedBatched (linear_pair dW)");
  } else if (K > 0) {
    if (dw1 && dy1) gemm_rm(h, true, false, M, K, N, dy1, M, x, K, dw1, K, acc_w1);
    if (dw2 && dy2) gemm_rm(h, true, false, M, K, N, dy2, M, x, K, dw2, K, acc_w2);
  }
  if (dx && K > 0) {
    bool acc = acc_x;
    if (dy1) {
      gemm_rm(h, false, false, N, K, M, dy1, M, w1, K, dx, K, acc);
      acc = true;
    }
    if (dy2) {
      gemm_rm(h, false, false, N, K, M, dy2, M, w2, K, dx, K, acc);
      acc = true;
    }
    if (!acc) check(cudaMemsetAsync(dx, 0, size_t(N * K) * sizeof(float), s), "linear_pair dx zero fill");
  }
  if ((db1 && dy1) || (db2 && dy2)) {
    const unsigned tiles = unsigned((M + kBiasCols - 1) / kBiasCols);
    pair_bias_grad_kernel<<<2 * tiles, dim3(kBiasCols, kBiasRows), 0, s>>>(dy1, dy2, db1, db2, acc_b1, acc_b2, N, M);
    check_launch("linear_pair bias gradients");
  }
  // A head without an incoming gradient: overwrite-mode parameter gradients are zero.
  if (!dy1 && dw1 && !acc_w1) check(cudaMemsetAsync(dw1, 0, size_t(M * K) * sizeof(float), s), "linear_pair zero");
  if (!dy1 && db1 && !acc_b1) check(cudaMemsetAsync(db1, 0, size_t(M) * sizeof(float), s), "linear_pair zero");
  if (!dy2 && dw2 && !acc_w2) check(cudaMemsetAsync(dw2, 0, size_t(M * K) * sizeof(float), s), "linear_pair zero");
  if (!dy2 && db2 && !acc_b2) check(cudaMemsetAsync(db2, 0, size_t(M) * sizeof(float), s), "linear_pair zero");
}

}  // namespace cuvi::cuda
