// CUDA twin of the ELBO assembly elbo_mean (kernels/cpu/elbo.h), masks and a second reconstruction term optional:
// the forward is one block over all cells
// (per-thread sums in row order, then a fixed tree), the backward one elementwise launch. fp32, no atomics.
#include "kernels/cuda/check.h"
#include "kernels/cuda/elbo.h"

namespace cuvi::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float kl_factor(float f, const double* kl_weight) {
  return kl_weight ? f * static_cast<float>(*kl_weight) : f;
}

__global__ void __launch_bounds__(kThreads)
    elbo_fwd_kernel(const float* __restrict__ log_lik, const float* __restrict__ mask,
                    const float* __restrict__ log_lik_2, const float* __restrict__ mask_2, const float* __restrict__ kl_z,
                    const float* __restrict__ kl_l, float f, const double* kl_weight, float* __restrict__ loss,
                    float* __restrict__ rec, float* __restrict__ kl_local, int64_t N) {
  __shared__ float sh[kThreads];
  const float w = kl_factor(f, kl_weight);
  float s = 0.0f;
  for (int64_t n = threadIdx.x; n < N; n += kThreads) {
    float r = -log_lik[n] * (mask ? mask[n] : 1.0f);
    if (log_lik_2) r -= log_lik_2[n] * (mask_2 ? mask_2[n] : 1.0f);
    const float kz = kl_z[n], kl = kl_l ? kl_l[n] : 0.0f;
    rec[n] = r;
    kl_local[n] = kz + kl;
    s += r + w * kz + kl;
  }
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int k = kThreads / 2; k > 0; k >>= 1) {
    if (int(threadIdx.x) < k) sh[threadIdx.x] += sh[threadIdx.x + k];
    __syncthreads();
  }
  if (threadIdx.x == 0) loss[0] = sh[0] / static_cast<float>(N);
}

__global__ void elbo_bwd_kernel(const float* __restrict__ dloss, const float* __restrict__ drec,
                                const float* __restrict__ dkl_local, const float* __restrict__ mask,
                                const float* __restrict__ mask_2, float f, const double* kl_weight, float* d_log_lik,
                                float* d_kl_z, float* d_kl_l, float* d_log_lik_2, bool acc_log_lik, bool acc_kl_z,
                                bool acc_kl_l, bool acc_log_lik_2, int64_t N) {
  const float g = dloss ? dloss[0] / static_cast<float>(N) : 0.0f;
  const float w = kl_factor(f, kl_weight);
  for (int64_t n = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; n < N; n += int64_t(gridDim.x) * blockDim.x) {
    const float r = drec ? drec[n] : 0.0f, k = dkl_local ? dkl_local[n] : 0.0f;
    if (d_log_lik) {
      const float v = -(g + r) * (mask ? mask[n] : 1.0f);
      d_log_lik[n] = acc_log_lik ? d_log_lik[n] + v : v;
    }
    if (d_log_lik_2) {
      const float v = -(g + r) * (mask_2 ? mask_2[n] : 1.0f);
      d_log_lik_2[n] = acc_log_lik_2 ? d_log_lik_2[n] + v : v;
    }
    if (d_kl_z) d_kl_z[n] = acc_kl_z ? d_kl_z[n] + (w * g + k) : w * g + k;
    if (d_kl_l) d_kl_l[n] = acc_kl_l ? d_kl_l[n] + (g + k) : g + k;
  }
}

}  // namespace

void elbo_mean_fwd(cudaStream_t s, const ElboRecInputs& in, const float* kl_z, const float* kl_l, float f,
                   const double* kl_weight, float* loss, float* rec, float* kl_local, int64_t N) {
  if (N <= 0) return;
  elbo_fwd_kernel<<<1, kThreads, 0, s>>>(in.log_lik, in.mask, in.log_lik_2, in.mask_2, kl_z, kl_l, f, kl_weight, loss,
                                         rec, kl_local, N);
  check_launch("elbo_mean forward");
}

void elbo_mean_bwd(cudaStream_t s, const float* dloss, const float* drec, const float* dkl_local, const float* mask,
                   const float* mask_2, float f, const double* kl_weight, float* d_log_lik, float* d_kl_z,
                   float* d_kl_l, float* d_log_lik_2, bool acc_log_lik, bool acc_kl_z, bool acc_kl_l,
                   bool acc_log_lik_2, int64_t N) {
  if (N <= 0 || !(d_log_lik || d_kl_z || d_kl_l || d_log_lik_2)) return;
  elbo_bwd_kernel<<<grid_for(N, kThreads), kThreads, 0, s>>>(dloss, drec, dkl_local, mask, mask_2, f, kl_weight,
                                                             d_log_lik, d_kl_z, d_kl_l, d_log_lik_2, acc_log_lik,
                                                             acc_kl_z, acc_kl_l, acc_log_lik_2, N);
  check_launch("elbo_mean backward");
}

}  // namespace cuvi::cuda
