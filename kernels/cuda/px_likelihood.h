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
                     const float* pi,        // (N, G) or null
                     const float* b_logits,  // (G) or null: added to logits
                     const float* b_pi,      // (G) or null: added to pi
                     float eps,
                     bool want_grad,      // false: ll only, the gradient buffers are not touched
                     float* ll,           // (N)
                     float* g_logits,     // (N, G)
                     float* g_log_theta,  // (N, G)
                     float* g_pi,         // (N, G) or unused
                     float* g_library,    // (N)
                     int64_t N, int64_t G);

// Gradient buffers of the backward (null: not needed) and whether each accumulates.
struct PxGrads {
  float* logits = nullptr;    // (N, G)
  float* library = nullptr;   // (N)
  float* px_r = nullptr;      // (N, G) or (G)
  float* pi = nullptr;        // (N, G)
  float* b_logits = nullptr;  // (G)
  float* b_pi = nullptr;      // (G)
  bool acc_logits = false, acc_library = false, acc_r = false, acc_pi = false, acc_b_logits = false, acc_b_pi = false;
};

// One launch: d_in (+)= dll[n] * saved gradients; d_px_r of shape (G) and the bias gradients are fixed-order
// sums over rows.
void px_log_prob_bwd(cudaStream_t s, const float* dll, const float* g_logits, const float* g_log_theta,
                     const float* g_pi, const float* g_library, bool r_full, const PxGrads& d, int64_t N, int64_t G);

}  // namespace cuvi::cuda
