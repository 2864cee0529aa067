// CUDA launchers of the fused likelihood tail px_log_prob (kernels/cpu/px_likelihood.h is the reference):
// one block per row, fp32 only (kernels/common/likelihood_f32.h); device pointers, no allocation, no sync.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

// ll[n] and the saved gradients (g_pi unused when pi is null); see cpu::px_log_prob_fwd.
void px_log_prob_fwd(cudaStream_t s,
                     const float* x,        // (N, G)
                     const float* logits,   // (N, G)
                     const float* library,  // (N) log library
                     const float* px_r,     // (N, G) or (G)
                     bool r_full,
                     const float* pi,  // (N, G) or null
                     float eps,
                     bool want_grad,      // false: ll only, the gradient buffers are not touched
                     float* ll,           // (N)
                     float* g_logits,     // (N, G)
                     float* g_log_theta,  // (N, G)
                     float* g_pi,         // (N, G) or unused
                     float* g_library,    // (N)
                     int64_t N, int64_t G);

// One launch: d_in (+)= dll[n] * saved gradients; d_px_r of shape (G) is a fixed-order sum over rows.
void px_log_prob_bwd(cudaStream_t s, const float* dll, const float* g_logits, const float* g_log_theta,
                     const float* g_pi, const float* g_library, bool r_full, float* d_logits, float* d_library,
                     float* d_px_r, float* d_pi, bool acc_logits, bool acc_library, bool acc_r, bool acc_pi,
                     int64_t N, int64_t G);

}  // namespace cuvi::cuda
