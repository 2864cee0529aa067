// CUDA launchers of the ELBO assembly elbo_mean (kernels/cpu/elbo.h is the reference): one single-block
// forward (fixed-order fp32 tree) and one backward launch; kl_weight is read from device memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

// loss = mean(-log_lik + w KL_z + KL_l) with w = f * (*kl_weight, or 1 when null); rec and kl_local per cell.
void elbo_mean_fwd(cudaStream_t s,
                   const float* log_lik,    // (N)
                   const float* kl_z,       // (N)
                   const float* kl_l,       // (N) or null
                   float f,                 // constant factor of KL_z
                   const double* kl_weight, // (1) device step scalar, or null
                   float* loss,             // (1)
                   float* rec,              // (N)
                   float* kl_local,         // (N)
                   int64_t N);

// Gradients of the three inputs from those of loss, rec and kl_local (any may be null).
void elbo_mean_bwd(cudaStream_t s, const float* dloss /*(1)*/, const float* drec /*(N)*/,
                   const float* dkl_local /*(N)*/, float f, const double* kl_weight, float* d_log_lik /*(N)*/,
                   float* d_kl_z /*(N)*/, float* d_kl_l /*(N)*/, bool acc_log_lik, bool acc_kl_z, bool acc_kl_l,
                   int64_t N);

}  // namespace cuvi::cuda
