// CUDA launchers for BatchNorm1d (torch semantics, spec scvi-multivi.md §0) and LayerNorm with no, shared
// or per-category affine (MRVI ConditionalNormalization, spec mrvi.md §1), fp32. Same contract as
// kernels/cpu/norm.h; device pointers. Deterministic: fixed-shape tree reductions, no atomics.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

void batchnorm_fwd(cudaStream_t s,
                   const float* x,        // (N, F)
                   const float* gamma,    // (F) or null
                   const float* beta,     // (F) or null
                   float* running_mean,   // (F), updated in training
                   float* running_var,    // (F), updated in training
                   float* y,              // (N, F)
                   float* save_mean,      // (F)
                   float* save_rstd,      // (F)
                   bool training, float momentum, float eps, int64_t N, int64_t F);

void batchnorm_bwd(cudaStream_t s,
                   const float* x,          // (N, F)
                   const float* gamma,      // (F) or null
                   const float* save_mean,  // (F)
                   const float* save_rstd,  // (F)
                   const float* dy,         // (N, F)
                   float* dx,               // (N, F) or null
                   float* dgamma,           // (F) or null
                   float* dbeta,            // (F) or null
                   bool acc_x, bool acc_gamma, bool acc_beta, bool training, int64_t N, int64_t F);

// Codes outside [0, S) give a NaN row (the CPU path rejects them before running).
void layernorm_fwd(cudaStream_t s,
                   const float* x,          // (N, F)
                   const float* gamma,      // (F) or (S, F) or null
                   const float* beta,       // (F) or (S, F) or null
                   const int32_t* codes,    // (N) with (S, F) affine, else null
                   float* y,                // (N, F)
                   float* save_mean,        // (N)
                   float* save_rstd,        // (N)
                   float eps, int64_t N, int64_t F, int64_t S);

// Rows with codes outside [0, S) contribute nothing to dgamma/dbeta.
void layernorm_bwd(cudaStream_t s,
                   const float* x,          // (N, F)
                   const float* gamma,      // (F) or (S, F) or null
                   const int32_t* codes,    // (N) or null
                   const float* save_mean,  // (N)
                   const float* save_rstd,  // (N)
                   const float* dy,         // (N, F)
                   float* dx,               // (N, F) or null
                   float* dgamma,           // like gamma, or null
                   float* dbeta,            // like beta, or null
                   bool acc_x, bool acc_gamma, bool acc_beta, int64_t N, int64_t F, int64_t S);

}  // namespace cuvi::cuda
