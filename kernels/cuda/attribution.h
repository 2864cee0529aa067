// CUDA launchers for decoder-Jacobian modality attribution (regularizedvi.md §9), fp32, device pointers.
// Same contract as kernels/cpu/attribution.h; deterministic (fixed block trees, one thread per column).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

void bias_ln_relu_fwd(cudaStream_t s,
                      float* a,           // (N, H) pre-activation, bias added in place
                      const float* bias,  // (H) or null
                      float* u,           // (N, H)
                      float* h,           // (N, H)
                      float* rstd,        // (N)
                      float eps, int64_t N, int64_t H);

void ln_relu_tangent(cudaStream_t s,
                     const float* t_in,  // t_in[i * ld_in + n * cell_stride + k]
                     int64_t ld_in, int64_t cell_stride,
                     const float* u,     // (N, H)
                     const float* rstd,  // (N)
                     float* t_out,       // (H, N*K)
                     int64_t N, int64_t H, int64_t K);

void attribution_reduce(cudaStream_t s,
                        const float* o_raw,        // (N, F)
                        const float* out_bias,     // (F) or null
                        const float* scaling,      // (N, F) or null
                        const float* log_library,  // (N)
                        const float* P,            // (F, N*K)
                        float* A,                  // (N, K)
                        int64_t N, int64_t F, int64_t K);

}  // namespace cuvi::cuda
