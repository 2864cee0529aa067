// CUDA launchers of MULTIVI's fused accessibility reconstruction (fp32; element math in double after
// torch's float32 products), same contract as kernels/cpu/accessibility.h; deterministic, no atomics.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

void accessibility_fwd(cudaStream_t s,
                       const float* x,       // (N, R)
                       const float* logits,  // (N, R)
                       const float* d,       // (N)
                       const float* f,       // (R) or null
                       float* ll,            // (N)
                       int64_t N, int64_t R);

void accessibility_bwd(cudaStream_t s, const float* x, const float* logits, const float* d, const float* f,
                       const float* dll,                       // (N)
                       float* dlogits, float* dd, float* df,   // (N, R), (N), (R); null where not wanted
                       bool acc_l, bool acc_d, bool acc_f, int64_t N, int64_t R);

}  // namespace cuvi::cuda
