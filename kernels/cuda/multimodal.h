// CUDA launchers of the multimodal ops (fp32): mix_modalities and pick_cols, same contract as
// kernels/cpu/multimodal.h; deterministic (no atomics). K (modalities) is at most 8.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

void mix_modalities_fwd(cudaStream_t s,
                        const float* w,     // (N, K)
                        const float* mask,  // (N, K)
                        const float* x,     // (N, K * D)
                        float* y,           // (N, D)
                        float* a,           // (N, K)
                        int64_t N, int64_t K, int64_t D, float eps, float extra, bool sqrt_weights);

void mix_modalities_bwd(cudaStream_t s,
                        const float* mask,  // (N, K)
                        const float* x,     // (N, K * D)
                        const float* a,     // (N, K)
                        const float* dy,    // (N, D)
                        float* dw,          // (N, K) or null
                        float* dx,          // (N, K * D) or null
                        bool acc_w, bool acc_x, int64_t N, int64_t K, int64_t D, bool sqrt_weights);

// Out-of-range codes give NaN (the CPU path rejects them).
void pick_cols_fwd(cudaStream_t s,
                   const float* x,            // (N, F)
                   const int32_t* codes,      // (N)
                   float* y,                  // (N)
                   int64_t N, int64_t F);
void pick_cols_bwd(cudaStream_t s,
                   const int32_t* codes,      // (N)
                   const float* dy,           // (N)
                   float* dx,                 // (N, F)
                   bool accumulate, int64_t N, int64_t F);

}  // namespace cuvi::cuda
