// CUDA fused Gaussian latent middle. Forward: a block per row (rows strided over the grid): each warp takes head
// outputs j in [0, 2L) and reduces the dot product h[n] . W_j over its lanes, then the L elements get exp + var_eps,
// the noise, z and their KL terms, summed in order by thread 0. Backward: blocks [0, 2L) own one head output j each
// and sum d_j(n) h[n, :] over the rows (dW row j) and d_j(n) (db); the other blocks own rows of dh. The KL
// element (10-wide, negligible) uses the shared double formula of kernels/common/likelihood.h.
#include <cmath>

#include "kernels/common/likelihood.h"
#include "kernels/common/philox.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/latent.h"
#include "kernels/cuda/norm_sums.cuh"

namespace cuvi::cuda {
namespace {

constexpr int kThreads = 128;
constexpr unsigned kMaxRowBlocks = 1u << 16;

__global__ void __launch_bounds__(kThreads)
    normal_latent_fwd_kernel(const float* __restrict__ h, const float* __restrict__ wm, const float* __restrict__ bm,
                             const float* __restrict__ wv, const float* __restrict__ bv,
                             const float* __restrict__ eps_in, float* __restrict__ z, float* __restrict__ qm,
                             float* __restrict__ qv, float* __restrict__ kl, float* __restrict__ eps,
                             float* __restrict__ ev, float var_eps, bool sample, uint64_t seed,
                             const int64_t* __restrict__ step, uint32_t stream, int64_t N, int64_t H, int64_t L) {
  extern __shared__ float sh[];  // (3L): head outputs (2L), KL terms (L)
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
  const uint32_t st = uint32_t(*step);
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* hr = h + n * H;
    for (int64_t j = warp; j < 2 * L; j += n_warps) {
      const float* w = j < L ? wm + j * H : wv + (j - L) * H;
      float s = 0.f;
      for (int64_t k = lane; k < H; k += 32) s += hr[k] * w[k];
      s = warp_sum(s);
      if (lane == 0) {
        const float* b = j < L ? bm : bv;
        sh[j] = b ? s + b[j < L ? j : j - L] : s;
      }
    }
    __syncthreads();
    for (int64_t l = threadIdx.x; l < L; l += blockDim.x) {
      const int64_t i = n * L + l;
      const float m = sh[l], e = expf(sh[L + l]), v = e + var_eps;
      qm[i] = m;
      qv[i] = v;
      ev[i] = e;
      const float noise = sample ? (eps_in ? eps_in[i] : float(philox_normal(seed, st, stream, uint64_t(i)))) : 0.f;
      eps[i] = noise;
      z[i] = sample ? m + sqrtf(v) * noise : m;
      sh[2 * L + l] = float(lik_eval(kLikKLNormal, double(m), double(v), 0.0, 1.0, 0.0, 0u).ll);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      float k = 0.f;
      for (int64_t l = 0; l < L; ++l) k += sh[2 * L + l];
      kl[n] = k;
    }
    __syncthreads();  // sh is reused by the next row
  }
}

// d loss / d (head output j) of row n: j < L the mean head, else the raw variance head (through exp).
__device__ __forceinline__ float head_grad(int64_t j, int64_t n, int64_t L, const float* __restrict__ qm,
                                           const float* __restrict__ qv, const float* __restrict__ eps,
                                           const float* __restrict__ ev, const float* __restrict__ dz,
                                           const float* __restrict__ dqm, const float* __restrict__ dqv,
                                           const float* __restrict__ dkl, bool sample) {
  const bool mean = j < L;
  const int64_t i = n * L + (mean ? j : j - L);
  const float gz = dz ? dz[i] : 0.f, gk = dkl ? dkl[n] : 0.f;
  if (mean) return gz + (dqm ? dqm[i] : 0.f) + gk * qm[i];
  const float v = qv[i];
  float g = (dqv ? dqv[i] : 0.f) + gk * (0.5f * (v - 1.f) / v);
  if (sample) g += gz * eps[i] / (2.f * sqrtf(v));
  return g * ev[i];
}

__global__ void __launch_bounds__(kThreads)
    normal_latent_bwd_kernel(const float* __restrict__ h, const float* __restrict__ wm, const float* __restrict__ wv,
                             const float* __restrict__ qm, const float* __restrict__ qv, const float* __restrict__ eps,
                             const float* __restrict__ ev, const float* __restrict__ dz, const float* __restrict__ dqm,
                             const float* __restrict__ dqv, const float* __restrict__ dkl, float* __restrict__ dh,
                             float* __restrict__ dwm, float* __restrict__ dbm, float* __restrict__ dwv,
                             float* __restrict__ dbv, bool acc_h, bool acc_wm, bool acc_bm, bool acc_wv, bool acc_bv,
                             bool sample, int64_t weight_blocks, int64_t N, int64_t H, int64_t L) {
  extern __shared__ float sh[];  // (2L): the row's head gradients
  if (int64_t(blockIdx.x) < weight_blocks) {
    const int64_t j = blockIdx.x;
    const bool mean = j < L;
    const int64_t l = mean ? j : j - L;
    float* dw = mean ? dwm : dwv;
    float* db = mean ? dbm : dbv;
    const bool acc_w = mean ? acc_wm : acc_wv, acc_b = mean ? acc_bm : acc_bv;
    if (dw)
      for (int64_t k = threadIdx.x; k < H; k += blockDim.x) {
        float s = 0.f;
        for (int64_t n = 0; n < N; ++n) s += head_grad(j, n, L, qm, qv, eps, ev, dz, dqm, dqv, dkl, sample) * h[n * H + k];
        dw[l * H + k] = acc_w ? dw[l * H + k] + s : s;
      }
    if (db && threadIdx.x == 0) {
      float s = 0.f;
      for (int64_t n = 0; n < N; ++n) s += head_grad(j, n, L, qm, qv, eps, ev, dz, dqm, dqv, dkl, sample);
      db[l] = acc_b ? db[l] + s : s;
    }
    return;
  }
  for (int64_t n = int64_t(blockIdx.x) - weight_blocks; n < N; n += int64_t(gridDim.x) - weight_blocks) {
    for (int64_t j = threadIdx.x; j < 2 * L; j += blockDim.x)
      sh[j] = head_grad(j, n, L, qm, qv, eps, ev, dz, dqm, dqv, dkl, sample);
    __syncthreads();
    for (int64_t k = threadIdx.x; k < H; k += blockDim.x) {
      float s = 0.f;
      for (int64_t j = 0; j < L; ++j) s += sh[j] * wm[j * H + k];
      for (int64_t j = 0; j < L; ++j) s += sh[L + j] * wv[j * H + k];
      dh[n * H + k] = acc_h ? dh[n * H + k] + s : s;
    }
    __syncthreads();  // sh is reused by the next row
  }
}

}  // namespace

void normal_latent_fwd(cudaStream_t s, const float* h, const float* wm, const float* bm, const float* wv,
                       const float* bv, const float* eps_in, float* z, float* qm, float* qv, float* kl, float* eps,
                       float* ev, double var_eps, bool sample, uint64_t seed, const int64_t* step, uint32_t stream,
                       int64_t N, int64_t H, int64_t L) {
  if (N <= 0 || L <= 0) return;
  const unsigned blocks = N < int64_t(kMaxRowBlocks) ? unsigned(N) : kMaxRowBlocks;
  normal_latent_fwd_kernel<<<blocks, kThreads, size_t(3 * L) * sizeof(float), s>>>(
      h, wm, bm, wv, bv, eps_in, z, qm, qv, kl, eps, ev, float(var_eps), sample, seed, step, stream, N, H, L);
  check_launch("normal_latent forward");
}

void normal_latent_bwd(cudaStream_t s, const float* h, const float* wm, const float* wv, const float* qm,
                       const float* qv, const float* eps, const float* ev, const float* dz, const float* dqm,
                       const float* dqv, const float* dkl, float* dh, float* dwm, float* dbm, float* dwv, float* dbv,
                       bool acc_h, bool acc_wm, bool acc_bm, bool acc_wv, bool acc_bv, bool sample, int64_t N,
                       int64_t H, int64_t L) {
  if (N <= 0 || L <= 0) return;
  const int64_t weight_blocks = (dwm || dbm || dwv || dbv) ? 2 * L : 0;
  const int64_t row_blocks = dh ? (N < int64_t(kMaxRowBlocks) ? N : int64_t(kMaxRowBlocks)) : 0;
  if (weight_blocks + row_blocks == 0) return;
  normal_latent_bwd_kernel<<<unsigned(weight_blocks + row_blocks), kThreads, size_t(2 * L) * sizeof(float), s>>>(
      h, wm, wv, qm, qv, eps, ev, dz, dqm, dqv, dkl, dh, dwm, dbm, dwv, dbv, acc_h, acc_wm, acc_bm, acc_wv, acc_bv,
      sample, weight_blocks, N, H, L);
  check_launch("normal_latent backward");
}

}  // namespace cuvi::cuda
