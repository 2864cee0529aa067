// CUDA multimodal ops: modality mixing (one thread per (cell, latent dim) forward; per element and per
// cell backward) and the per-row column pick; grid-stride loops, no atomics.
#include <cmath>

#include "kernels/cuda/check.h"
#include "kernels/cuda/multimodal.h"

namespace cuvi::cuda {
namespace {

constexpr int kThreads = 256;

__device__ void row_weights(const float* w, const float* mask, int64_t n, int64_t K, float eps, float extra,
                            float* a) {
  float e[8], s = eps + extra;
  for (int64_t k = 0; k < K; ++k) {
    e[k] = mask[n * K + k] != 0.f ? expf(w[n * K + k]) : eps;
    s += e[k];
  }
  for (int64_t k = 0; k < K; ++k) a[k] = e[k] / s;
}

__global__ void mix_fwd_kernel(const float* __restrict__ w, const float* __restrict__ mask,
                               const float* __restrict__ x, float* __restrict__ y, float* __restrict__ a_out,
                               int64_t N, int64_t K, int64_t D, float eps, float extra, bool sq) {
  const int64_t total = N * D;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / D, d = i % D;
    float a[8];
    row_weights(w, mask, n, K, eps, extra, a);
    float acc = 0.f;
    for (int64_t k = 0; k < K; ++k) acc += (sq ? sqrtf(a[k]) : a[k]) * x[n * K * D + k * D + d];
    y[i] = acc;
    if (d == 0)
      for (int64_t k = 0; k < K; ++k) a_out[n * K + k] = a[k];
  }
}

__global__ void mix_bwd_x_kernel(const float* __restrict__ a, const float* __restrict__ dy, float* __restrict__ dx,
                                 bool acc, int64_t N, int64_t K, int64_t D, bool sq) {
  const int64_t total = N * K * D;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / (K * D), k = (i / D) % K, d = i % D;
    const float ak = a[n * K + k];
    const float v = (sq ? sqrtf(ak) : ak) * dy[n * D + d];
    dx[i] = acc ? dx[i] + v : v;
  }
}

__global__ void mix_bwd_w_kernel(const float* __restrict__ mask, const float* __restrict__ x,
                                 const float* __restrict__ a, const float* __restrict__ dy, float* __restrict__ dw,
                                 bool acc, int64_t N, int64_t K, int64_t D, bool sq) {
  for (int64_t n = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; n < N; n += int64_t(gridDim.x) * blockDim.x) {
    float g[8], gs = 0.f;
    for (int64_t k = 0; k < K; ++k) {
      const float ak = a[n * K + k];
      float dt = 0.f;
      for (int64_t d = 0; d < D; ++d) dt += dy[n * D + d] * x[n * K * D + k * D + d];
      g[k] = sq ? 0.5f * sqrtf(ak) * dt : ak * dt;
      gs += g[k];
    }
    for (int64_t k = 0; k < K; ++k) {
      const float v = mask[n * K + k] != 0.f ? g[k] - a[n * K + k] * gs : 0.f;
      dw[n * K + k] = acc ? dw[n * K + k] + v : v;
    }
  }
}

__global__ void pick_fwd_kernel(const float* __restrict__ x, const int32_t* __restrict__ codes,
                                float* __restrict__ y, int64_t N, int64_t F) {
  for (int64_t n = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; n < N; n += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = codes[n];
    y[n] = (c < 0 || c >= F) ? NAN : x[n * F + c];
  }
}

__global__ void pick_bwd_kernel(const int32_t* __restrict__ codes, const float* __restrict__ dy,
                                float* __restrict__ dx, bool acc, int64_t N, int64_t F) {
  const int64_t total = N * F;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / F, f = i % F;
    const float v = f == codes[n] ? dy[n] : 0.f;
    dx[i] = acc ? dx[i] + v : v;
  }
}

}  // namespace

void mix_modalities_fwd(cudaStream_t s, const float* w, const float* mask, const float* x, float* y, float* a,
                        int64_t N, int64_t K, int64_t D, float eps, float extra, bool sqrt_weights) {
  mix_fwd_kernel<<<grid_for(N * D, kThreads), kThreads, 0, s>>>(w, mask, x, y, a, N, K, D, eps, extra, sqrt_weights);
  check_launch("mix_modalities_fwd");
}

void mix_modalities_bwd(cudaStream_t s, const float* mask, const float* x, const float* a, const float* dy, float* dw,
                        float* dx, bool acc_w, bool acc_x, int64_t N, int64_t K, int64_t D, bool sqrt_weights) {
  if (dx) {
    mix_bwd_x_kernel<<<grid_for(N * K * D, kThreads), kThreads, 0, s>>>(a, dy, dx, acc_x, N, K, D, sqrt_weights);
    check_launch("mix_modalities_bwd (x)");
  }
  if (dw) {
    mix_bwd_w_kernel<<<grid_for(N, kThreads), kThreads, 0, s>>>(mask, x, a, dy, dw, acc_w, N, K, D, sqrt_weights);
    check_launch("mix_modalities_bwd (w)");
  }
}

void pick_cols_fwd(cudaStream_t s, const float* x, const int32_t* codes, float* y, int64_t N, int64_t F) {
  pick_fwd_kernel<<<grid_for(N, kThreads), kThreads, 0, s>>>(x, codes, y, N, F);
  check_launch("pick_cols_fwd");
}

void pick_cols_bwd(cudaStream_t s, const int32_t* codes, const float* dy, float* dx, bool accumulate, int64_t N,
                   int64_t F) {
  pick_bwd_kernel<<<grid_for(N * F, kThreads), kThreads, 0, s>>>(codes, dy, dx, accumulate, N, F);
  check_launch("pick_cols_bwd");
}

}  // namespace cuvi::cuda
