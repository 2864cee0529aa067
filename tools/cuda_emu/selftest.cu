// Self-test kernels of the CUDA emulator (tools/cuda_emu): warp collectives, barriers and shared memory
// with known answers, and deliberately faulty kernels whose faults the emulator must report.
#include "tools/cuda_emu/selftest.h"

namespace emu_selftest {
namespace {

__global__ void shuffle_kernel(int kind, const float* __restrict__ in, float* __restrict__ out, int arg, int width) {
  const float v = in[threadIdx.x];
  float r = v;
  switch (kind) {
    case kIdx: r = __shfl_sync(0xffffffffu, v, arg, width); break;
    case kUp: r = __shfl_up_sync(0xffffffffu, v, unsigned(arg), width); break;
    case kDown: r = __shfl_down_sync(0xffffffffu, v, unsigned(arg), width); break;
    default: r = __shfl_xor_sync(0xffffffffu, v, arg, width); break;
  }
  out[threadIdx.x] = r;
}

__global__ void vote_kernel(const int* __restrict__ in, unsigned* __restrict__ out) {
  const int p = in[threadIdx.x] != 0;
  const unsigned b = __ballot_sync(0xffffffffu, p);
  const int any = __any_sync(0xffffffffu, p), all = __all_sync(0xffffffffu, p);
  out[3 * threadIdx.x] = b;
  out[3 * threadIdx.x + 1] = unsigned(any);
  out[3 * threadIdx.x + 2] = unsigned(all);
}

__global__ void block_sum_kernel(const float* __restrict__ in, float* __restrict__ out, int n) {
  __shared__ float sh[1024];
  float s = 0.f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += in[i];
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = sh[0];
}

__global__ void barrier_count_kernel(const float* __restrict__ in, int* __restrict__ out) {
  const int c = __syncthreads_count(in[threadIdx.x] > 0.f);
  if (threadIdx.x == 0) *out = c;
}

__global__ void uninitialised_kernel(float* out) {
  __shared__ float never_written[64];
  out[threadIdx.x] = never_written[threadIdx.x % 64];
}

__global__ void divergent_barrier_kernel(float* out) {
  if (threadIdx.x >= blockDim.x / 2) return;
  __syncthreads();
  out[threadIdx.x] = 1.f;
}

__global__ void partial_warp_kernel(float* out) {
  float v = float(threadIdx.x);
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  out[threadIdx.x] = v;
}

__global__ void write_past_end_kernel(float* out, int n) {
  for (int i = threadIdx.x; i <= n; i += blockDim.x) out[i] = 0.f;
}

__global__ void plain_kernel(float* out) { out[0] = float(blockDim.x); }

__global__ void __launch_bounds__(128) bounded_kernel(float* out) { out[threadIdx.x] = 0.f; }

__global__ void dynamic_smem_kernel(float* out) {
  extern __shared__ float dyn[];
  dyn[threadIdx.x] = 1.f;
  __syncthreads();
  if (threadIdx.x == 0) out[0] = dyn[0];
}

__global__ void restrict_kernel(const float* __restrict__ x, float* __restrict__ y, int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) y[i] = 2.f * x[i];
}

struct Inputs {
  const float* a;
  const float* b;
};

__global__ void struct_kernel(Inputs in, float* out) { out[0] = in.a[0] + in.b[0]; }

}  // namespace

void shuffle(int kind, const float* in, float* out, int n, int arg, int width) {
  shuffle_kernel<<<1, n>>>(kind, in, out, arg, width);
}
void vote(const int* in, unsigned* out, int n) { vote_kernel<<<1, n>>>(in, out); }
void block_sum(const float* in, float* out, int n, int threads) { block_sum_kernel<<<1, threads>>>(in, out, n); }
void barrier_count(const float* in, int* out, int n) { barrier_count_kernel<<<1, n>>>(in, out); }
void read_uninitialised_shared(float* out, int n) { uninitialised_kernel<<<1, n>>>(out); }
void divergent_barrier(float* out, int n) { divergent_barrier_kernel<<<1, n>>>(out); }
void missing_shuffle_lanes(float* out, int n) { partial_warp_kernel<<<1, n>>>(out); }
void write_past_end(float* out, int n) { write_past_end_kernel<<<1, 64>>>(out, n); }
void launch_with_threads(float* out, int threads) { plain_kernel<<<1, threads>>>(out); }
void launch_over_bounds(float* out) { bounded_kernel<<<1, 256>>>(out); }
void launch_with_dynamic_smem(float* out, size_t bytes) { dynamic_smem_kernel<<<1, 32, bytes>>>(out); }
void restrict_alias(float* p, int n) { restrict_kernel<<<1, 32>>>(p, p, n); }

void struct_with_pointers(const float* a, const float* b, float* out) {
  struct_kernel<<<1, 1>>>(Inputs{a, b}, out);
}

}  // namespace emu_selftest
