// CUDA launchers for elementwise activations (kernels/common/unary.h), fp32.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

void unary_fwd(cudaStream_t s, int kind, float a, const float* x /*(n)*/, float* y /*(n)*/, int64_t n);
void unary_bwd(cudaStream_t s, int kind, float a, const float* x, const float* y, const float* dy, float* dx,
               bool accumulate, int64_t n);

}  // namespace cuvi::cuda
