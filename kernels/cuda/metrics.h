// CUDA launcher of the epoch-metric accumulator (kernels/cpu/metrics.h): one block, deterministic.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

struct MetricVectors {
  const float* v[4];  // null = skip
  int64_t n[4];       // lengths
};
void accumulate_sums(cudaStream_t s, MetricVectors v, double* acc /*(4)*/);

}  // namespace cuvi::cuda
