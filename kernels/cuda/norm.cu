// CUDA BatchNorm and LayerNorm. BatchNorm: a (32 features x 16 row groups) block owns 32 features, reduces
// its column statistics in a fixed tree, then normalises them. LayerNorm: a block owns a row (two-pass
// variance); dgamma/dbeta are column reductions per category, each block scanning the codes. No atomics.
#include <cmath>

#include "kernels/cuda/check.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/norm_sums.cuh"

namespace cuvi::cuda {
namespace {

__global__ void batchnorm_fwd_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                     const float* __restrict__ beta, float* __restrict__ running_mean,
                                     float* __restrict__ running_var, float* __restrict__ y,
                                     float* __restrict__ save_mean, float* __restrict__ save_rstd, bool training,
                                     float momentum, float eps, int64_t N, int64_t F) {
  __shared__ float shm[kColRows][kColTile + 1];
  const int64_t f = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  const bool valid = f < F;
  float mean = 0.f, rstd = 0.f;
  if (training) {
    float s = 0.f;
    if (valid)
      for (int64_t n = threadIdx.y; n < N; n += kColRows) s += x[n * F + f];
    mean = col_block_sum(s, shm) / float(N);
    float q = 0.f;
    if (valid)
      for (int64_t n = threadIdx.y; n < N; n += kColRows) {
        const float d = x[n * F + f] - mean;
        q += d * d;
      }
    q = col_block_sum(q, shm);
    rstd = 1.f / sqrtf(q / float(N) + eps);
    if (valid && threadIdx.y == 0) {
      save_mean[f] = mean;
      save_rstd[f] = rstd;
      running_mean[f] = (1.f - momentum) * running_mean[f] + momentum * mean;
      if (N > 1) running_var[f] = (1.f - momentum) * running_var[f] + momentum * (q / float(N - 1));  // N = 1: kept
    }
  } else if (valid) {
    mean = running_mean[f];
    rstd = 1.f / sqrtf(running_var[f] + eps);
    if (threadIdx.y == 0) {
      save_mean[f] = mean;
      save_rstd[f] = rstd;
    }
  }
  if (!valid) return;  // past the last barrier
  const float g = gamma ? gamma[f] : 1.f, b = beta ? beta[f] : 0.f;
  for (int64_t n = threadIdx.y; n < N; n += kColRows) {
    const int64_t i = n * F + f;
    y[i] = (x[i] - mean) * rstd * g + b;
  }
}

__global__ void batchnorm_bwd_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                     const float* __restrict__ save_mean, const float* __restrict__ save_rstd,
                                     const float* __restrict__ dy, float* __restrict__ dx,
                                     float* __restrict__ dgamma, float* __restrict__ dbeta, bool acc_x,
                                     bool acc_gamma, bool acc_beta, bool training, int64_t N, int64_t F) {
  __shared__ float shm[kColRows][kColTile + 1];
  const int64_t f = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  const bool valid = f < F;
  const float mean = valid ? save_mean[f] : 0.f, rstd = valid ? save_rstd[f] : 0.f;
  float sdy = 0.f, sdyx = 0.f;
  if (valid)
    for (int64_t n = threadIdx.y; n < N; n += kColRows) {
      const int64_t i = n * F + f;
      const float g = dy[i];
      sdy += g;
      sdyx += g * ((x[i] - mean) * rstd);
    }
  sdy = col_block_sum(sdy, shm);
  sdyx = col_block_sum(sdyx, shm);
  if (!valid) return;  // past the last barrier
  if (threadIdx.y == 0) {
    if (dgamma) dgamma[f] = acc_gamma ? dgamma[f] + sdyx : sdyx;
    if (dbeta) dbeta[f] = acc_beta ? dbeta[f] + sdy : sdy;
  }
  if (!dx) return;
  const float k = (gamma ? gamma[f] : 1.f) * rstd;
  const float inv_n = 1.f / float(N);
  for (int64_t n = threadIdx.y; n < N; n += kColRows) {
    const int64_t i = n * F + f;
    const float g = dy[i];
    float v;
    if (training) {
      const float xhat = (x[i] - mean) * rstd;
      v = k * (g - sdy * inv_n - xhat * (sdyx * inv_n));
    } else {
      v = k * g;
    }
    dx[i] = acc_x ? dx[i] + v : v;
  }
}

__global__ void layernorm_fwd_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                     const float* __restrict__ beta, const int32_t* __restrict__ codes,
                                     float* __restrict__ y, float* __restrict__ save_mean,
                                     float* __restrict__ save_rstd, float eps, int64_t N, int64_t F, int64_t S) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* xr = x + n * F;
    float s = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) s += xr[f];
    const float mean = block_sum(s, shm) / float(F);
    float q = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) {
      const float d = xr[f] - mean;
      q += d * d;
    }
    const float rstd = 1.f / sqrtf(block_sum(q, shm) / float(F) + eps);
    if (threadIdx.x == 0) {
      save_mean[n] = mean;
      save_rstd[n] = rstd;
    }
    int64_t off = 0;
    bool bad = false;
    if (codes) {
      const int32_t c = codes[n];
      bad = c < 0 || int64_t(c) >= S;
      off = bad ? 0 : int64_t(c) * F;
    }
    const float* g = gamma ? gamma + off : nullptr;
    const float* b = beta ? beta + off : nullptr;
    float* yr = y + n * F;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) {
      const float xhat = (xr[f] - mean) * rstd;
      yr[f] = bad ? NAN : xhat * (g ? g[f] : 1.f) + (b ? b[f] : 0.f);
    }
  }
}

__global__ void layernorm_bwd_dx_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                        const int32_t* __restrict__ codes, const float* __restrict__ save_mean,
                                        const float* __restrict__ save_rstd, const float* __restrict__ dy,
                                        float* __restrict__ dx, bool acc, int64_t N, int64_t F, int64_t S) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* xr = x + n * F;
    const float* gr = dy + n * F;
    int64_t off = 0;
    bool bad = false;
    if (codes) {
      const int32_t c = codes[n];
      bad = c < 0 || int64_t(c) >= S;
      off = bad ? 0 : int64_t(c) * F;
    }
    const float* g = gamma ? gamma + off : nullptr;
    const float mean = save_mean[n], rstd = save_rstd[n];
    float s1 = 0.f, s2 = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) {
      const float dxhat = g ? gr[f] * g[f] : gr[f];
      s1 += dxhat;
      s2 += dxhat * ((xr[f] - mean) * rstd);
    }
    const float inv_f = 1.f / float(F);
    s1 = block_sum(s1, shm) * inv_f;
    s2 = block_sum(s2, shm) * inv_f;
    float* d = dx + n * F;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) {
      const float dxhat = g ? gr[f] * g[f] : gr[f];
      const float xhat = (xr[f] - mean) * rstd;
      const float v = bad ? NAN : rstd * (dxhat - s1 - xhat * s2);
      d[f] = acc ? d[f] + v : v;
    }
  }
}

// Block (tile of 32 features, category s): sums over the rows of category s (every row without codes).
__global__ void layernorm_bwd_affine_kernel(const float* __restrict__ x, const int32_t* __restrict__ codes,
                                            const float* __restrict__ save_mean,
                                            const float* __restrict__ save_rstd, const float* __restrict__ dy,
                                            float* __restrict__ dgamma, float* __restrict__ dbeta, bool acc_gamma,
                                            bool acc_beta, int64_t N, int64_t F, int64_t S) {
  __shared__ float shm[kColRows][kColTile + 1];
  const int64_t f = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  const bool valid = f < F;
  for (int64_t s = blockIdx.y; s < S; s += gridDim.y) {
    float ag = 0.f, ab = 0.f;
    if (valid)
      for (int64_t n = threadIdx.y; n < N; n += kColRows) {
        if (codes && int64_t(codes[n]) != s) continue;
        const int64_t i = n * F + f;
        const float g = dy[i];
        ag += g * ((x[i] - save_mean[n]) * save_rstd[n]);
        ab += g;
      }
    ag = col_block_sum(ag, shm);
    ab = col_block_sum(ab, shm);
    if (valid && threadIdx.y == 0) {
      const int64_t i = s * F + f;
      if (dgamma) dgamma[i] = acc_gamma ? dgamma[i] + ag : ag;
      if (dbeta) dbeta[i] = acc_beta ? dbeta[i] + ab : ab;
    }
  }
}

}  // namespace

void batchnorm_fwd(cudaStream_t s, const float* x, const float* gamma, const float* beta, float* running_mean,
                   float* running_var, float* y, float* save_mean, float* save_rstd, bool training, float momentum,
                   float eps, int64_t N, int64_t F) {
  if (N <= 0 || F <= 0) return;
  batchnorm_fwd_kernel<<<col_tiles(F), dim3(kColTile, kColRows), 0, s>>>(
      x, gamma, beta, running_mean, running_var, y, save_mean, save_rstd, training, momentum, eps, N, F);
  check_launch("batchnorm forward");
}

void batchnorm_bwd(cudaStream_t s, const float* x, const float* gamma, const float* save_mean,
                   const float* save_rstd, const float* dy, float* dx, float* dgamma, float* dbeta, bool acc_x,
                   bool acc_gamma, bool acc_beta, bool training, int64_t N, int64_t F) {
  if (N <= 0 || F <= 0 || (!dx && !dgamma && !dbeta)) return;
  batchnorm_bwd_kernel<<<col_tiles(F), dim3(kColTile, kColRows), 0, s>>>(
      x, gamma, save_mean, save_rstd, dy, dx, dgamma, dbeta, acc_x, acc_gamma, acc_beta, training, N, F);
  check_launch("batchnorm backward");
}

void layernorm_fwd(cudaStream_t s, const float* x, const float* gamma, const float* beta, const int32_t* codes,
                   float* y, float* save_mean, float* save_rstd, float eps, int64_t N, int64_t F, int64_t S) {
  if (N <= 0 || F <= 0) return;
  layernorm_fwd_kernel<<<row_blocks(N), row_threads(F), 0, s>>>(x, gamma, beta, codes, y, save_mean, save_rstd,
                                                                eps, N, F, S);
  check_launch("layernorm forward");
}

void layernorm_bwd(cudaStream_t s, const float* x, const float* gamma, const int32_t* codes,
                   const float* save_mean, const float* save_rstd, const float* dy, float* dx, float* dgamma,
                   float* dbeta, bool acc_x, bool acc_gamma, bool acc_beta, int64_t N, int64_t F, int64_t S) {
  if (N <= 0 || F <= 0) return;
  if (dx) {
    layernorm_bwd_dx_kernel<<<row_blocks(N), row_threads(F), 0, s>>>(x, gamma, codes, save_mean, save_rstd, dy,
                                                                     dx, acc_x, N, F, S);
    check_launch("layernorm backward (x)");
  }
  if (dgamma || dbeta) {
    const dim3 grid(col_tiles(F), unsigned(S < 65535 ? S : 65535));
    layernorm_bwd_affine_kernel<<<grid, dim3(kColTile, kColRows), 0, s>>>(
        x, codes, save_mean, save_rstd, dy, dgamma, dbeta, acc_gamma, acc_beta, N, F, S);
    check_launch("layernorm backward (gamma, beta)");
  }
}

}  // namespace cuvi::cuda
