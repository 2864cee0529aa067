// Stream-capture self-test kernels of the CUDA emulator (tools/cuda_emu): each launch leaves a visible
// trace of its arguments, so a test can tell what a replayed graph ran and how often.
#include "tools/cuda_emu/graph_selftest.h"

namespace emu_selftest {
namespace {

__global__ void axpy_kernel(float* __restrict__ y, const float* __restrict__ x, float a, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] += a * x[i];
}

__global__ void affine_kernel(float* y, Affine f, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = y[i] * f.scale + f.shift;
}

__global__ void increment_kernel(int* counter) {
  if (threadIdx.x == 0) *counter += 1;
}

}  // namespace

void axpy(cudaStream_t s, float* y, const float* x, float a, int n) {
  axpy_kernel<<<(n + 63) / 64, 64, 0, s>>>(y, x, a, n);
}
void affine(cudaStream_t s, float* y, Affine f, int n) { affine_kernel<<<(n + 63) / 64, 64, 0, s>>>(y, f, n); }
void increment(cudaStream_t s, int* counter) { increment_kernel<<<1, 32, 0, s>>>(counter); }

}  // namespace emu_selftest
