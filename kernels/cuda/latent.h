// CUDA launchers of the fused Gaussian latent middle (same contract as kernels/cpu/latent.h): one kernel forward
// (both heads, exp + var_eps, Philox noise, rsample, KL per row) and one kernel backward (blocks for the heads'
// weight and bias gradients, blocks for the rows of dh). Device pointers, fp32, no atomics.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

void normal_latent_fwd(cudaStream_t s,
                       const float* h,       // (N, H)
                       const float* wm,      // (L, H)
                       const float* bm,      // (L) or null
                       const float* wv,      // (L, H)
                       const float* bv,      // (L) or null
                       const float* eps_in,  // (N, L) or null (Philox, element n * L + l)
                       float* z, float* qm, float* qv,  // (N, L)
                       float* kl,                       // (N)
                       float* eps, float* ev,           // (N, L) saved for backward
                       double var_eps, bool sample, uint64_t seed, const int64_t* step /*device*/, uint32_t stream,
                       int64_t N, int64_t H, int64_t L);

void normal_latent_bwd(cudaStream_t s, const float* h, const float* wm, const float* wv, const float* qm,
                       const float* qv, const float* eps, const float* ev,
                       const float* dz, const float* dqm, const float* dqv,  // (N, L) or null
                       const float* dkl,                                     // (N) or null
                       float* dh, float* dwm, float* dbm, float* dwv, float* dbv, bool acc_h, bool acc_wm,
                       bool acc_bm, bool acc_wv, bool acc_bv, bool sample, int64_t N, int64_t H, int64_t L);

}  // namespace cuvi::cuda
