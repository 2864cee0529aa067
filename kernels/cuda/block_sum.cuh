// Deterministic block sum of one double per thread (blockDim.x a power of two, sh holding blockDim.x
// doubles): a fixed tree, so a sum never depends on scheduling. Shared by the CUDA reductions.
#pragma once

namespace cuvi::cuda {

__device__ __forceinline__ double block_sum(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  return sh[0];
}

}  // namespace cuvi::cuda
