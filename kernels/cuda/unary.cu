// CUDA elementwise activations: one grid-stride kernel per direction, kind chosen at run time.
#include "kernels/common/unary.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/unary.h"

namespace cuvi::cuda {

__global__ void unary_fwd_kernel(int kind, float a, const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = unary_value<float>(kind, x[i], a);
}

__global__ void unary_bwd_kernel(int kind, float a, const float* __restrict__ x, const float* __restrict__ y,
                                 const float* __restrict__ dy, float* __restrict__ dx, bool accumulate, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float g = dy[i] * unary_deriv<float>(kind, x[i], y[i], a);
    dx[i] = accumulate ? dx[i] + g : g;
  }
}

void unary_fwd(cudaStream_t s, int kind, float a, const float* x, float* y, int64_t n) {
  unary_fwd_kernel<<<grid_for(n, 256), 256, 0, s>>>(kind, a, x, y, n);
  check_launch("unary forward");
}

void unary_bwd(cudaStream_t s, int kind, float a, const float* x, const float* y, const float* dy, float* dx,
               bool accumulate, int64_t n) {
  unary_bwd_kernel<<<grid_for(n, 256), 256, 0, s>>>(kind, a, x, y, dy, dx, accumulate, n);
  check_launch("unary backward");
}

}  // namespace cuvi::cuda
