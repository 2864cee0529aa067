// CUDA launchers for the sampling family (kernels/common/sampling.h); fp32 tensors, draws in double.
// The RNG step is read on the device from `step` (&ctx->scalars->step), so captured graphs replay with
// the current step; no host copy, no allocation, no synchronisation.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

void normal_rsample_fwd(cudaStream_t s,
                        const float* m,    // (n)
                        const float* v,    // (n)
                        const float* eps,  // (n)
                        float* z,          // (n)
                        int64_t n);
void normal_rsample_bwd(cudaStream_t s, const float* v, const float* eps,
                        const float* dz,  // (n) or null
                        float* dm, float* dv, bool acc_m, bool acc_v, int64_t n);

void randn_fill(cudaStream_t s, uint64_t seed, const int64_t* step /*device*/, uint32_t stream,
                float* eps,  // (n)
                int64_t n);
void keep_mask_fill(cudaStream_t s, uint64_t seed, const int64_t* step /*device*/, uint32_t stream, double p,
                    float* mask,  // (n)
                    int64_t n);

void sample_poisson_fill(cudaStream_t s, uint64_t seed, const int64_t* step /*device*/, uint32_t stream,
                         const float* rate,  // (n)
                         float* counts,      // (n)
                         int64_t n);
void sample_nb_fill(cudaStream_t s, uint64_t seed, const int64_t* step /*device*/, uint32_t stream,
                    const float* mu,     // (N, C)
                    const float* theta,  // (N, C), (C) or (1)
                    int theta_mode,      // LikBcast
                    const float* pi,     // (N, C) dropout logits, or null for NB
                    float* counts,       // (N, C)
                    int64_t N, int64_t C);

}  // namespace cuvi::cuda
