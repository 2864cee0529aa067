// CUDA sampling family: one thread per output element (grid-stride), the same per-element functions
// and Philox addressing as kernels/cpu/sampling.h, so both backends draw the same numbers.
#include "kernels/common/likelihood.h"
#include "kernels/common/philox.h"
#include "kernels/common/sampling.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/sampling.h"

namespace cuvi::cuda {
namespace {

constexpr int kThreads = 256;

#define CUVI_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

__global__ void rsample_fwd_kernel(const float* __restrict__ m, const float* __restrict__ v,
                                   const float* __restrict__ eps, float* __restrict__ z, int64_t n) {
  CUVI_GRID_STRIDE(i, n) {
    z[i] = static_cast<float>(static_cast<double>(m[i]) + sqrt(static_cast<double>(v[i])) * static_cast<double>(eps[i]));
  }
}

__global__ void rsample_bwd_kernel(const float* __restrict__ v, const float* __restrict__ eps,
                                   const float* __restrict__ dz, float* dm, float* dv, bool acc_m, bool acc_v,
                                   int64_t n) {
  CUVI_GRID_STRIDE(i, n) {
    const double g = dz ? static_cast<double>(dz[i]) : 0.0;
    if (dm) dm[i] = static_cast<float>(acc_m ? static_cast<double>(dm[i]) + g : g);
    if (dv) {
      const double gv = dz ? g * static_cast<double>(eps[i]) / (2.0 * sqrt(static_cast<double>(v[i]))) : 0.0;
      dv[i] = static_cast<float>(acc_v ? static_cast<double>(dv[i]) + gv : gv);
    }
  }
}

__global__ void randn_kernel(uint64_t seed, const int64_t* __restrict__ step, uint32_t stream, float* __restrict__ eps,
                             int64_t n) {
  const uint32_t st = static_cast<uint32_t>(*step);
  CUVI_GRID_STRIDE(e, n) { eps[e] = static_cast<float>(philox_normal(seed, st, stream, static_cast<uint64_t>(e))); }
}

__global__ void keep_mask_kernel(uint64_t seed, const int64_t* __restrict__ step, uint32_t stream, double p,
                                 float* __restrict__ mask, int64_t n) {
  const uint32_t st = static_cast<uint32_t>(*step);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  CUVI_GRID_STRIDE(e, n) { mask[e] = philox_keep(seed, st, stream, static_cast<uint64_t>(e), p) ? scale : 0.f; }
}

__global__ void poisson_kernel(uint64_t seed, const int64_t* __restrict__ step, uint32_t stream,
                               const float* __restrict__ rate, float* __restrict__ counts, int64_t n) {
  const uint32_t st = static_cast<uint32_t>(*step);
  CUVI_GRID_STRIDE(e, n) {
    const PhiloxSite site{seed, st, stream, static_cast<uint64_t>(e) * kDrawsPerElement};
    counts[e] = static_cast<float>(sample_poisson(static_cast<double>(rate[e]), site));
  }
}

__global__ void nb_kernel(uint64_t seed, const int64_t* __restrict__ step, uint32_t stream, const float* __restrict__ mu,
                          const float* __restrict__ theta, int theta_mode, const float* __restrict__ pi,
                          float* __restrict__ counts, int64_t N, int64_t C) {
  const uint32_t st = static_cast<uint32_t>(*step);
  CUVI_GRID_STRIDE(e, N * C) {
    const int64_t r = e / C;
    const double th = static_cast<double>(theta[lik_index(theta_mode, r, e - r * C, C)]);
    const PhiloxSite site{seed, st, stream, static_cast<uint64_t>(e) * kDrawsPerElement};
    const double m = static_cast<double>(mu[e]);
    counts[e] = static_cast<float>(pi ? sample_zinb(m, th, static_cast<double>(pi[e]), site) : sample_nb(m, th, site));
  }
}

#undef CUVI_GRID_STRIDE

}  // namespace

void normal_rsample_fwd(cudaStream_t s, const float* m, const float* v, const float* eps, float* z, int64_t n) {
  if (n <= 0) return;
  rsample_fwd_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(m, v, eps, z, n);
  check_launch("normal_rsample forward");
}

void normal_rsample_bwd(cudaStream_t s, const float* v, const float* eps, const float* dz, float* dm, float* dv,
                        bool acc_m, bool acc_v, int64_t n) {
  if (n <= 0 || (!dm && !dv)) return;
  rsample_bwd_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(v, eps, dz, dm, dv, acc_m, acc_v, n);
  check_launch("normal_rsample backward");
}

void randn_fill(cudaStream_t s, uint64_t seed, const int64_t* step, uint32_t stream, float* eps, int64_t n) {
  if (n <= 0) return;
  randn_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(seed, step, stream, eps, n);
  check_launch("randn_like");
}

void keep_mask_fill(cudaStream_t s, uint64_t seed, const int64_t* step, uint32_t stream, double p, float* mask,
                    int64_t n) {
  if (n <= 0) return;
  keep_mask_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(seed, step, stream, p, mask, n);
  check_launch("keep_mask_like");
}

void sample_poisson_fill(cudaStream_t s, uint64_t seed, const int64_t* step, uint32_t stream, const float* rate,
                         float* counts, int64_t n) {
  if (n <= 0) return;
  poisson_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(seed, step, stream, rate, counts, n);
  check_launch("sample_poisson");
}

void sample_nb_fill(cudaStream_t s, uint64_t seed, const int64_t* step, uint32_t stream, const float* mu,
                    const float* theta, int theta_mode, const float* pi, float* counts, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  nb_kernel<<<grid_for(N * C, kThreads), kThreads, 0, s>>>(seed, step, stream, mu, theta, theta_mode, pi, counts, N, C);
  check_launch(pi ? "sample_zinb" : "sample_nb");
}

}  // namespace cuvi::cuda
