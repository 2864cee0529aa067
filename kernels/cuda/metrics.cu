// CUDA epoch-metric accumulator: one block per metric vector, tree reduction in double.
#include "kernels/cuda/check.h"
#include "kernels/cuda/metrics.h"

namespace cuvi::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void accumulate_sums_kernel(MetricVectors v, double* acc) {
  const float* x = v.v[blockIdx.x];
  if (!x) return;
  __shared__ double sh[kThreads];
  double s = 0;
  const int64_t N = v.n[blockIdx.x];
  for (int64_t n = threadIdx.x; n < N; n += kThreads) s += double(x[n]);
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) acc[blockIdx.x] += sh[0];
}

}  // namespace

void accumulate_sums(cudaStream_t s, MetricVectors v, double* acc) {
  accumulate_sums_kernel<<<4, kThreads, 0, s>>>(v, acc);
  check_launch("accumulate sums");
}

}  // namespace cuvi::cuda
