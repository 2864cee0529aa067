// CUDA kernels for decoder-Jacobian modality attribution (regularizedvi.md §9): LayerNorm+ReLU forward per
// row (block tree sums), its tangent and the weighted |Jacobian| mean per tangent column (one thread each).
#include "kernels/cuda/attribution.h"
#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/check.h"

namespace cuvi::cuda {
namespace {

constexpr int kRowThreads = 128;
constexpr int kColThreads = 128;

__global__ void __launch_bounds__(kRowThreads)
    bias_ln_relu_kernel(float* __restrict__ a, const float* __restrict__ bias, float* __restrict__ u,
                        float* __restrict__ h, float* __restrict__ rstd, float eps, int64_t N, int64_t H) {
  __shared__ double sh[kRowThreads];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    float* an = a + n * H;
    double part = 0;
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      const float v = bias ? an[j] + bias[j] : an[j];
      an[j] = v;
      part += double(v);
    }
    const double mean = block_sum(part, sh) / double(H);
    __syncthreads();
    part = 0;
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      const double d = double(an[j]) - mean;
      part += d * d;
    }
    const double r = 1.0 / sqrt(block_sum(part, sh) / double(H) + double(eps));
    __syncthreads();
    if (threadIdx.x == 0) rstd[n] = float(r);
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      const double v = (double(an[j]) - mean) * r;
      u[n * H + j] = float(v);
      h[n * H + j] = v > 0 ? float(v) : 0.f;
    }
  }
}

__global__ void __launch_bounds__(kColThreads)
    ln_relu_tangent_kernel(const float* __restrict__ t_in, int64_t ld_in, int64_t cell_stride,
                           const float* __restrict__ u, const float* __restrict__ rstd, float* __restrict__ t_out,
                           int64_t N, int64_t H, int64_t K) {
  const int64_t NK = N * K;
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < NK; c += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = c / K, k = c - n * K;
    const float* un = u + n * H;
    const float* tc = t_in + n * cell_stride + k;
    double s = 0, su = 0;
    for (int64_t i = 0; i < H; ++i) {
      const double t = double(tc[i * ld_in]);
      s += t;
      su += double(un[i]) * t;
    }
    s /= double(H);
    su /= double(H);
    const double r = double(rstd[n]);
    for (int64_t j = 0; j < H; ++j) {
      const double t = double(tc[j * ld_in]);
      t_out[j * NK + c] = un[j] > 0 ? float(r * (t - s - double(un[j]) * su)) : 0.f;
    }
  }
}

__global__ void __launch_bounds__(kColThreads)
    attribution_reduce_kernel(const float* __restrict__ o_raw, const float* __restrict__ out_bias,
                              const float* __restrict__ scaling, const float* __restrict__ log_library,
                              const float* __restrict__ P, float* __restrict__ A, int64_t N, int64_t F, int64_t K) {
  const int64_t NK = N * K;
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < NK; c += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = c / K;
    double acc = 0;
    for (int64_t f = 0; f < F; ++f) {
      const double o = double(o_raw[n * F + f]) + (out_bias ? double(out_bias[f]) : 0.0);
      const double slope = o > 20.0 ? 1.0 : 1.0 / (1.0 + exp(-o));
      const double g = slope * (scaling ? double(scaling[n * F + f]) : 1.0);
      acc += fabs(g * double(P[f * NK + c]));
    }
    A[c] = float(exp(double(log_library[n])) * acc / double(F));
  }
}

}  // namespace

void bias_ln_relu_fwd(cudaStream_t s, float* a, const float* bias, float* u, float* h, float* rstd, float eps,
                      int64_t N, int64_t H) {
  if (N <= 0) return;
  const unsigned grid = unsigned(N < 65535 ? N : 65535);
  bias_ln_relu_kernel<<<grid, kRowThreads, 0, s>>>(a, bias, u, h, rstd, eps, N, H);
  check_launch("bias_ln_relu_fwd");
}

void ln_relu_tangent(cudaStream_t s, const float* t_in, int64_t ld_in, int64_t cell_stride, const float* u,
                     const float* rstd, float* t_out, int64_t N, int64_t H, int64_t K) {
  if (N * K <= 0) return;
  ln_relu_tangent_kernel<<<grid_for(N * K, kColThreads), kColThreads, 0, s>>>(t_in, ld_in, cell_stride, u, rstd,
                                                                              t_out, N, H, K);
  check_launch("ln_relu_tangent");
}

void attribution_reduce(cudaStream_t s, const float* o_raw, const float* out_bias, const float* scaling,
                        const float* log_library, const float* P, float* A, int64_t N, int64_t F, int64_t K) {
  if (N * K <= 0) return;
  attribution_reduce_kernel<<<grid_for(N * K, kColThreads), kColThreads, 0, s>>>(o_raw, out_bias, scaling,
                                                                                 log_library, P, A, N, F, K);
  check_launch("attribution_reduce");
}

}  // namespace cuvi::cuda
