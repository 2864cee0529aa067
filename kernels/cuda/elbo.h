// CUDA launchers of the ELBO assembly elbo_mean (kernels/cpu/elbo.h is the reference): one single-block
// forward (fixed-order fp32 tree) and one backward launch; kl_weight is read from device memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

// The per-cell reconstruction inputs: rec = -(mask log_lik + mask_2 log_lik_2), a null mask counting as 1 and a
// null log_lik_2 as absent (a second modality's likelihood).
struct ElboRecInputs {
  const float* log_lik;    // (N)
  const float* mask;       // (N) or null
  const float* log_lik_2;  // (N) or null
  const float* mask_2;     // (N) or null
};

// loss = mean(rec + w KL_z + KL_l) with w = f * (*kl_weight, or 1 when null); rec and kl_local per cell.
void elbo_mean_fwd(cudaStream_t s,
                   const ElboRecInputs& in,
                   const float* kl_z,       // (N)
                   const float* kl_l,       // (N) or null
                   float f,                 // constant factor of KL_z
                   const double* kl_weight, // (1) device step scalar, or null
                   float* loss,             // (1)
                   float* rec,              // (N)
                   float* kl_local,         // (N)
                   int64_t N);

// Gradients of log_lik, kl_z, kl_l and log_lik_2 from those of loss, rec and kl_local (any may be null; the masks
// take none).
void elbo_mean_bwd(cudaStream_t s, const float* dloss /*(1)*/, const float* drec /*(N)*/,
                   const float* dkl_local /*(N)*/, const float* mask /*(N)*/, const float* mask_2 /*(N)*/, float f,
                   const double* kl_weight, float* d_log_lik /*(N)*/, float* d_kl_z /*(N)*/, float* d_kl_l /*(N)*/,
                   float* d_log_lik_2 /*(N)*/, bool acc_log_lik, bool acc_kl_z, bool acc_kl_l, bool acc_log_lik_2,
                   int64_t N);

}  // namespace cuvi::cuda
