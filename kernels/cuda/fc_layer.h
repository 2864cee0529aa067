// CUDA launchers of the fused FC layer (scvi FCLayers, scvi-multivi.md §1.2): one cuBLAS SGEMM and one fused
// epilogue kernel forward (bias + covariates + BatchNorm/LayerNorm + activation + dropout), one fused kernel
// and two SGEMMs backward. Same contract as kernels/cpu/fc_layer.h; device pointers, fp32, no atomics.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/common/fc_layer.h"

namespace cuvi::cuda {

void fc_layer_fwd(cublasHandle_t h, cudaStream_t s,
                  const float* x,            // (N, K)
                  const float* w,            // (M, K + C)
                  const float* b,            // (M) or null
                  const int32_t* codes,      // (N, J) or null
                  const float* gamma,        // (M) or null
                  const float* beta,         // (M) or null
                  float* running_mean,       // (M), BatchNorm only
                  float* running_var,        // (M), BatchNorm only
                  const float* keep_in,      // (N, M) or null
                  float* y,                  // (N, M)
                  float* pre,                // (N, M)
                  float* stats,              // (2, M) / (2, N) / null
                  float* keep,               // (N, M) or null
                  const FcConfig& c, uint64_t seed, const int64_t* step /*device*/, int64_t N, int64_t K, int64_t C,
                  int64_t M, int64_t J);

// LayerNorm backward supports no affine (scvi's FCLayers LayerNorm has none): gamma/dgamma/dbeta must be null.
void fc_layer_bwd(cublasHandle_t h, cudaStream_t s, const float* x, const float* w, const int32_t* codes,
                  const float* gamma, const float* y, const float* pre, const float* stats, const float* keep,
                  const float* dy,  // (N, M)
                  float* dpre,      // (N, M) scratch
                  float* dx, float* dw, float* db, float* dgamma, float* dbeta, bool acc_x, bool acc_w, bool acc_b,
                  bool acc_gamma, bool acc_beta, const FcConfig& c, int64_t N, int64_t K, int64_t C, int64_t M,
                  int64_t J);

}  // namespace cuvi::cuda
