// CUDA launchers for the likelihood family (kernels/common/likelihood.h): fp32 tensors, every element in
// double. Same contract as kernels/cpu/likelihood.h; device pointers; no allocation, no host sync.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/common/likelihood.h"

namespace cuvi::cuda {

// ll[n] = sum_j f(kind, inputs at (n, j)); one block per row, block tree reduction in double.
void lik_rows_fwd(cudaStream_t s, int kind, const LikInputs<float>& in, double eps,
                  float* ll,  // (N)
                  int64_t N, int64_t C);

// Gradients; broadcast inputs go through g.partial (lik_tiles(N, C), C) doubles, then an ordered sum.
void lik_rows_bwd(cudaStream_t s, int kind, const LikInputs<float>& in, double eps,
                  const float* dll,  // (N) or null
                  const LikGrads<float>& g, int64_t N, int64_t C);

void mog_fwd(cudaStream_t s,
             const float* u,           // (N, D)
             const float* logits,      // (K) or (N, K)
             bool logits_rows,
             const float* means,       // (K, D)
             const float* log_scales,  // (K, D)
             float* ll,                // (N)
             int64_t N, int64_t K, int64_t D);

void mog_bwd(cudaStream_t s, const float* u, const float* logits, bool logits_rows, const float* means,
             const float* log_scales,
             const float* dll,                                          // (N) or null
             float* du, float* dlogits, float* dmeans, float* dlog_scales,  // null where not wanted
             bool acc_u, bool acc_logits, bool acc_means, bool acc_log_scales,
             double* p_logits,      // (tiles, K) when logits are (K)
             double* p_means,       // (tiles, K*D)
             double* p_log_scales,  // (tiles, K*D)
             int64_t N, int64_t K, int64_t D);

}  // namespace cuvi::cuda
