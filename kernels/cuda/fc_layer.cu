// CUDA fused FC layer: x W^T by cuBLAS into `pre` (inside the epilogue for inputs of <= 32 features, as the
// decoder's latent input), then one epilogue kernel adds bias and covariate columns,
// normalises (BatchNorm: a block per 32 features over all rows; LayerNorm: a block per row), applies the
// activation and the dropout mask (Philox, element n * M + m, as keep_mask_like). Backward: one fused kernel
// for dropout, activation, norm and the bias/covariate column sums (LayerNorm: a row kernel first; dW too for
// small inputs), then the dx and dW SGEMMs. Fixed-shape tree reductions, no atomics.
#include <cmath>

#include "kernels/common/philox.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/fc_layer.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/norm_sums.cuh"

namespace cuvi::cuda {
namespace {

// Inputs of at most this many features (the decoder's first layer: the latent) are multiplied inside the
// epilogue kernels, forward and (for dW) backward, instead of by cuBLAS: two SGEMM launches fewer per step.
constexpr int64_t kInlineK = 32;

// Linear output plus bias and the covariate columns of W named by the row's codes. x: the input when the
// product is taken here (inline_k: K <= kInlineK), else v holds the SGEMM's result.
__device__ __forceinline__ float biased(float v, bool inline_k, const float* __restrict__ x,
                                        const float* __restrict__ w, const float* __restrict__ b,
                                        const int32_t* __restrict__ codes, int64_t n, int64_t m, int64_t K,
                                        int64_t ldw, int64_t J) {
  if (inline_k) {
    v = 0.f;
    for (int64_t k = 0; k < K; ++k) v += x[n * K + k] * w[m * ldw + k];
  }
  if (b) v += b[m];
  if (codes)
    for (int64_t j = 0; j < J; ++j) {
      const int32_t c = codes[n * J + j];
      if (c >= 0) v += w[m * ldw + K + c];
    }
  return v;
}

// act(z) times the dropout multiplier (given, drawn, or none), which is saved for backward.
__device__ __forceinline__ float activate_drop(float z, int64_t i, const FcConfig& c, uint64_t seed, uint32_t step,
                                               float scale, const float* __restrict__ keep_in,
                                               float* __restrict__ keep) {
  float a = fc_act(c.act, z, float(c.slope));
  if (keep) {
    const float k = keep_in ? keep_in[i] : (philox_keep(seed, step, c.stream, uint64_t(i), c.p_drop) ? scale : 0.f);
    keep[i] = k;
    a *= k;
  }
  return a;
}

// dL/dz at element i: dy times the dropout multiplier times the activation's derivative.
__device__ __forceinline__ float grad_z(int64_t i, const float* __restrict__ dy, const float* __restrict__ y,
                                        const float* __restrict__ keep, const FcConfig& c) {
  float g = dy[i];
  if (keep) g *= keep[i];
  return g * fc_act_grad<float>(c.act, y[i], float(c.slope));
}

// Norm none or batch: a (32 features x 16 row groups) block owns 32 features.
__global__ void __launch_bounds__(kColTile* kColRows)
    fc_cols_fwd_kernel(bool inline_k, const float* __restrict__ x, const float* __restrict__ w,
                       const float* __restrict__ b, const int32_t* __restrict__ codes,
                       const float* __restrict__ gamma, const float* __restrict__ beta, float* running_mean,
                       float* running_var, const float* __restrict__ keep_in, float* __restrict__ y,
                       float* __restrict__ pre, float* __restrict__ stats, float* __restrict__ keep, FcConfig c,
                       uint64_t seed, const int64_t* __restrict__ step, int64_t N, int64_t K, int64_t C, int64_t M,
                       int64_t J) {
  __shared__ float shm[kColRows][kColTile + 1];
  const int64_t f = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  const bool valid = f < M;
  float s = 0.f;
  if (valid)
    for (int64_t n = threadIdx.y; n < N; n += kColRows) {
      const int64_t i = n * M + f;
      const float v = biased(inline_k ? 0.f : pre[i], inline_k, x, w, b, codes, n, f, K, K + C, J);
      pre[i] = v;
      s += v;
    }
  float mean = 0.f, rstd = 1.f;
  if (c.norm == kFcNormBatch && c.training) {
    mean = col_block_sum(s, shm) / float(N);
    float q = 0.f;
    if (valid)
      for (int64_t n = threadIdx.y; n < N; n += kColRows) {
        const float d = pre[n * M + f] - mean;
        q += d * d;
      }
    q = col_block_sum(q, shm);
    rstd = 1.f / sqrtf(q / float(N) + float(c.eps));
    if (valid && threadIdx.y == 0) {
      const float mom = float(c.momentum);
      stats[f] = mean;
      stats[M + f] = rstd;
      running_mean[f] = (1.f - mom) * running_mean[f] + mom * mean;
      if (N > 1) running_var[f] = (1.f - mom) * running_var[f] + mom * (q / float(N - 1));  // N = 1: kept
    }
  } else if (c.norm == kFcNormBatch && valid) {
    mean = running_mean[f];
    rstd = 1.f / sqrtf(running_var[f] + float(c.eps));
    if (threadIdx.y == 0) {
      stats[f] = mean;
      stats[M + f] = rstd;
    }
  }
  if (!valid) return;  // past the last barrier
  const bool bn = c.norm == kFcNormBatch;
  const float g = bn && gamma ? gamma[f] : 1.f, bb = bn && beta ? beta[f] : 0.f;
  const uint32_t st = uint32_t(*step);
  const float scale = float(1.0 / (1.0 - c.p_drop));
  for (int64_t n = threadIdx.y; n < N; n += kColRows) {
    const int64_t i = n * M + f;
    const float z = bn ? (pre[i] - mean) * rstd * g + bb : pre[i];
    y[i] = activate_drop(z, i, c, seed, st, scale, keep_in, keep);
  }
}

// LayerNorm (no affine): a block per row.
__global__ void __launch_bounds__(kMaxRowThreads)
    fc_rows_fwd_kernel(bool inline_k, const float* __restrict__ x, const float* __restrict__ w,
                       const float* __restrict__ b, const int32_t* __restrict__ codes,
                       const float* __restrict__ keep_in, float* __restrict__ y, float* __restrict__ pre,
                       float* __restrict__ stats, float* __restrict__ keep, FcConfig c, uint64_t seed,
                       const int64_t* __restrict__ step, int64_t N, int64_t K, int64_t C, int64_t M, int64_t J) {
  __shared__ float shm[32];
  const uint32_t st = uint32_t(*step);
  const float scale = float(1.0 / (1.0 - c.p_drop));
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    float s = 0.f;
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
      const int64_t i = n * M + m;
      const float v = biased(inline_k ? 0.f : pre[i], inline_k, x, w, b, codes, n, m, K, K + C, J);
      pre[i] = v;
      s += v;
    }
    const float mean = block_sum(s, shm) / float(M);
    float q = 0.f;
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
      const float d = pre[n * M + m] - mean;
      q += d * d;
    }
    const float rstd = 1.f / sqrtf(block_sum(q, shm) / float(M) + float(c.eps));
    if (threadIdx.x == 0) {
      stats[n] = mean;
      stats[N + n] = rstd;
    }
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
      const int64_t i = n * M + m;
      y[i] = activate_drop((pre[i] - mean) * rstd, i, c, seed, st, scale, keep_in, keep);
    }
  }
}

// Backward column kernel: for norm none/batch it turns dy into dpre (BatchNorm's column sums in the same block);
// for LayerNorm dpre is given (from_dpre). Then db and the covariate columns of dW, from dpre.
__global__ void __launch_bounds__(kColTile* kColRows)
    fc_cols_bwd_kernel(bool inline_k, const float* __restrict__ x, const float* __restrict__ gamma,
                       const float* __restrict__ y,
                       const float* __restrict__ pre,
                       const float* __restrict__ stats, const float* __restrict__ keep, const float* __restrict__ dy,
                       const int32_t* __restrict__ codes, float* __restrict__ dpre, float* __restrict__ dw,
                       float* __restrict__ db, float* __restrict__ dgamma, float* __restrict__ dbeta, bool acc_w,
                       bool acc_b, bool acc_gamma, bool acc_beta, bool from_dpre, FcConfig c, int64_t N, int64_t K,
                       int64_t C, int64_t M, int64_t J) {
  __shared__ float shm[kColRows][kColTile + 1];
  const int64_t f = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  const bool valid = f < M;
  const bool bn = c.norm == kFcNormBatch && !from_dpre;
  const float mean = bn && valid ? stats[f] : 0.f, rstd = bn && valid ? stats[M + f] : 1.f;
  float sdy = 0.f, sdyx = 0.f;
  if (bn) {
    if (valid)
      for (int64_t n = threadIdx.y; n < N; n += kColRows) {
        const int64_t i = n * M + f;
        const float g = grad_z(i, dy, y, keep, c);
        sdy += g;
        sdyx += g * ((pre[i] - mean) * rstd);
      }
    sdy = col_block_sum(sdy, shm);
    sdyx = col_block_sum(sdyx, shm);
    if (valid && threadIdx.y == 0) {
      if (dgamma) dgamma[f] = acc_gamma ? dgamma[f] + sdyx : sdyx;
      if (dbeta) dbeta[f] = acc_beta ? dbeta[f] + sdy : sdy;
    }
  }
  float sb = 0.f;
  float sw[kInlineK];  // x given (K <= kInlineK): dW[f, k] = sum_n dpre[n, f] x[n, k], this thread's rows
  const bool inline_w = inline_k && dw && K > 0;
  if (inline_w)
    for (int64_t q = 0; q < K; ++q) sw[q] = 0.f;
  if (valid) {
    const float k = (bn && gamma ? gamma[f] : 1.f) * rstd;
    const float inv_n = 1.f / float(N);
    for (int64_t n = threadIdx.y; n < N; n += kColRows) {
      const int64_t i = n * M + f;
      float v;
      if (from_dpre) {
        v = dpre[i];
      } else {
        const float g = grad_z(i, dy, y, keep, c);
        if (!bn)
          v = g;
        else if (c.training)
          v = k * (g - sdy * inv_n - ((pre[i] - mean) * rstd) * (sdyx * inv_n));
        else
          v = k * g;
        dpre[i] = v;
      }
      sb += v;
      if (inline_w)
        for (int64_t q = 0; q < K; ++q) sw[q] += v * x[n * K + q];
    }
  }
  if (inline_w)
    for (int64_t q = 0; q < K; ++q) {
      const float t = col_block_sum(sw[q], shm);
      if (valid && threadIdx.y == 0) dw[f * (K + C) + q] = acc_w ? dw[f * (K + C) + q] + t : t;
    }
  sb = col_block_sum(sb, shm);  // also orders every dpre write of the block before the covariate pass
  if (!valid || threadIdx.y != 0) return;
  // Training BatchNorm removes the bias with the batch mean: its gradient is exactly zero (kernels/cpu/fc_layer.h).
  if (db) db[f] = bn && c.training ? (acc_b ? db[f] : 0.f) : (acc_b ? db[f] + sb : sb);
  if (!dw || C == 0) return;
  float* row = dw + f * (K + C) + K;
  if (!acc_w)
    for (int64_t q = 0; q < C; ++q) row[q] = 0.f;
  if (codes)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < J; ++j) {
        const int32_t q = codes[n * J + j];
        if (q >= 0) row[q] += dpre[n * M + f];
      }
}

// LayerNorm (no affine) backward of a row: dpre = rstd (dz - mean(dz) - xhat mean(dz xhat)).
__global__ void __launch_bounds__(kMaxRowThreads)
    fc_rows_bwd_kernel(const float* __restrict__ y, const float* __restrict__ pre, const float* __restrict__ stats,
                       const float* __restrict__ keep, const float* __restrict__ dy, float* __restrict__ dpre,
                       FcConfig c, int64_t N, int64_t M) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float mean = stats[n], rstd = stats[N + n];
    float s1 = 0.f, s2 = 0.f;
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
      const int64_t i = n * M + m;
      const float g = grad_z(i, dy, y, keep, c);
      s1 += g;
      s2 += g * ((pre[i] - mean) * rstd);
    }
    const float inv_m = 1.f / float(M);
    s1 = block_sum(s1, shm) * inv_m;
    s2 = block_sum(s2, shm) * inv_m;
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
      const int64_t i = n * M + m;
      const float g = grad_z(i, dy, y, keep, c);
      dpre[i] = rstd * (g - s1 - ((pre[i] - mean) * rstd) * s2);
    }
  }
}

}  // namespace

void fc_layer_fwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w, const float* b,
                  const int32_t* codes, const float* gamma, const float* beta, float* running_mean, float* running_var,
                  const float* keep_in, float* y, float* pre, float* stats, float* keep, const FcConfig& c,
                  uint64_t seed, const int64_t* step, int64_t N, int64_t K, int64_t C, int64_t M, int64_t J) {
  if (N <= 0 || M <= 0) return;
  expect_stream(h, s);
  const bool inline_k = K <= kInlineK;  // K = 0 included: pre is bias and covariates only
  if (!inline_k) gemm_rm(h, false, true, N, M, K, x, K, w, K + C, pre, M, false);
  if (c.norm == kFcNormLayer) {
    fc_rows_fwd_kernel<<<row_blocks(N), row_threads(M), 0, s>>>(inline_k, x, w, b, codes, keep_in, y, pre, stats, keep, c,
                                                                 seed, step, N, K, C, M, J);
  } else {
    fc_cols_fwd_kernel<<<col_tiles(M), dim3(kColTile, kColRows), 0, s>>>(
        inline_k, x, w, b, codes, gamma, beta, running_mean, running_var, keep_in, y, pre, stats, keep, c, seed, step, N, K, C,
        M, J);
  }
  check_launch("fc_layer forward epilogue");
}

void fc_layer_bwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w, const int32_t* codes,
                  const float* gamma, const float* y, const float* pre, const float* stats, const float* keep,
                  const float* dy, float* dpre, float* dx, float* dw, float* db, float* dgamma, float* dbeta,
                  bool acc_x, bool acc_w, bool acc_b, bool acc_gamma, bool acc_beta, const FcConfig& c, int64_t N,
                  int64_t K, int64_t C, int64_t M, int64_t J) {
  if (N <= 0 || M <= 0) return;
  expect_stream(h, s);
  const bool ln = c.norm == kFcNormLayer;
  if (ln) {
    if (gamma || dgamma || dbeta) throw std::runtime_error("fc_layer: LayerNorm with an affine is not fused");
    fc_rows_bwd_kernel<<<row_blocks(N), row_threads(M), 0, s>>>(y, pre, stats, keep, dy, dpre, c, N, M);
    check_launch("fc_layer backward (layer norm rows)");
  }
  const bool inline_k = K <= kInlineK;
  fc_cols_bwd_kernel<<<col_tiles(M), dim3(kColTile, kColRows), 0, s>>>(
      inline_k, x, gamma, y, pre, stats, keep, dy, codes, dpre, dw, db, dgamma, dbeta, acc_w, acc_b,
      acc_gamma, acc_beta, ln, c, N, K, C, M, J);
  check_launch("fc_layer backward epilogue");
  if (K == 0) return;
  if (dx) gemm_rm(h, false, false, N, K, M, dpre, M, w, K + C, dx, K, acc_x);
  if (dw && !inline_k) gemm_rm(h, true, false, M, K, N, dpre, M, x, K, dw, K + C, acc_w);
}

}  // namespace cuvi::cuda
