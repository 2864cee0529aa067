// CUDA reductions and the row softmax family: one block per row with warp-shuffle + shared-memory trees,
// column sums in (32 columns x 16 row groups) tiles reduced in a fixed order, whole-tensor sums in two
// passes of fixed shape. Every result depends only on the input shape, never on scheduling.
#include <cmath>

#include "kernels/cuda/check.h"
#include "kernels/cuda/reduce.h"

namespace cuvi::cuda {
namespace {

constexpr int kMaxRowThreads = 512;  // threads of a block that owns one row
constexpr int kColTile = 32;         // columns per block in column reductions
constexpr int kColRows = 16;         // row groups per block in column reductions
constexpr int kEltThreads = 256;     // threads per block of the 2-D elementwise kernels
constexpr unsigned kMaxRowBlocks = 1u << 20;

// Threads of a row block: a multiple of 32 in [32, 512], fixed by F alone.
int row_threads(int64_t F) {
  const int64_t t = (F + 31) / 32 * 32;
  return int(t < 32 ? 32 : (t > kMaxRowThreads ? kMaxRowThreads : t));
}
unsigned row_blocks(int64_t N) { return N < int64_t(kMaxRowBlocks) ? unsigned(N) : kMaxRowBlocks; }
// 2-D grid for (N, F) elementwise kernels: x over column tiles, y over rows (both loop when capped).
dim3 grid_2d(int64_t N, int64_t F) {
  const int64_t gx = (F + kEltThreads - 1) / kEltThreads;
  return dim3(unsigned(gx < 65535 ? gx : 65535), unsigned(N < 65535 ? N : 65535));
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Sum over a 1-D block whose size is a multiple of 32; every thread gets the same total. shm: 32 floats.
__device__ float block_sum(float v, float* shm) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) shm[warp] = v;
  __syncthreads();
  v = lane < int(blockDim.x >> 5) ? shm[lane] : 0.f;
  v = warp_sum(v);
  __syncthreads();  // shm may be reused at once
  return v;
}
// Maximum over a 1-D block (NaN entries are ignored, as fmaxf does); every thread gets the result.
__device__ float block_max(float v, float* shm) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_max(v);
  if (lane == 0) shm[warp] = v;
  __syncthreads();
  v = lane < int(blockDim.x >> 5) ? shm[lane] : -INFINITY;
  v = warp_max(v);
  __syncthreads();
  return v;
}
// Sum over threadIdx.y of a (kColTile, kColRows) block; every thread of column threadIdx.x gets it.
__device__ float col_block_sum(float v, float (*shm)[kColTile + 1]) {
  shm[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
#pragma unroll
  for (int st = kColRows / 2; st > 0; st >>= 1) {
    if (int(threadIdx.y) < st) shm[threadIdx.y][threadIdx.x] += shm[threadIdx.y + st][threadIdx.x];
    __syncthreads();
  }
  const float t = shm[0][threadIdx.x];
  __syncthreads();
  return t;
}

__global__ void sum_rows_kernel(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y,
                                float alpha, bool acc, int64_t N, int64_t F) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* xr = x + n * F;
    const float* wr = w ? w + n * F : nullptr;
    float s = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) s += wr ? xr[f] * wr[f] : xr[f];
    s = block_sum(s, shm);
    if (threadIdx.x == 0) y[n] = acc ? y[n] + alpha * s : alpha * s;
  }
}

__global__ void sum_cols_kernel(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y,
                                float alpha, bool acc, int64_t N, int64_t F) {
  __shared__ float shm[kColRows][kColTile + 1];
  const int64_t f = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  float s = 0.f;
  if (f < F)
    for (int64_t n = threadIdx.y; n < N; n += kColRows) {
      const int64_t i = n * F + f;
      s += w ? x[i] * w[i] : x[i];
    }
  s = col_block_sum(s, shm);
  if (threadIdx.y == 0 && f < F) y[f] = acc ? y[f] + alpha * s : alpha * s;
}

// Partial sums of a fixed grid: block b covers i = b * blockDim + t + k * gridDim * blockDim.
__global__ void sum_all_partial_kernel(const float* __restrict__ x, const float* __restrict__ w,
                                       float* __restrict__ partial, int64_t n) {
  __shared__ float shm[32];
  float s = 0.f;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    s += w ? x[i] * w[i] : x[i];
  s = block_sum(s, shm);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// One block sums everything (small inputs, or the partials of the first pass).
__global__ void sum_all_final_kernel(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y,
                                     float alpha, bool acc, int64_t n) {
  __shared__ float shm[32];
  float s = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += w ? x[i] * w[i] : x[i];
  s = block_sum(s, shm);
  if (threadIdx.x == 0) y[0] = acc ? y[0] + alpha * s : alpha * s;
}

__global__ void sum_rows_bwd_kernel(const float* __restrict__ dy, float* __restrict__ dx, float alpha, bool acc,
                                    int64_t N, int64_t F) {
  for (int64_t n = blockIdx.y; n < N; n += gridDim.y) {
    const float g = alpha * dy[n];
    for (int64_t f = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; f < F; f += int64_t(gridDim.x) * blockDim.x)
      dx[n * F + f] = acc ? dx[n * F + f] + g : g;
  }
}

__global__ void sum_cols_bwd_kernel(const float* __restrict__ dy, float* __restrict__ dx, bool acc, int64_t N,
                                    int64_t F) {
  for (int64_t n = blockIdx.y; n < N; n += gridDim.y)
    for (int64_t f = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; f < F; f += int64_t(gridDim.x) * blockDim.x)
      dx[n * F + f] = acc ? dx[n * F + f] + dy[f] : dy[f];
}

__global__ void sum_all_bwd_kernel(const float* __restrict__ dy, float* __restrict__ dx, float alpha, bool acc,
                                   int64_t n) {
  const float g = alpha * dy[0];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dx[i] = acc ? dx[i] + g : g;
}

__global__ void logsumexp_rows_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t N, int64_t F) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* xr = x + n * F;
    float m = -INFINITY;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) m = fmaxf(m, xr[f]);
    m = block_max(m, shm);
    const float shift = isinf(m) ? 0.f : m;
    float s = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) s += expf(xr[f] - shift);
    s = block_sum(s, shm);
    if (threadIdx.x == 0) y[n] = logf(s) + m;
  }
}

__global__ void logsumexp_rows_bwd_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                          const float* __restrict__ dy, float* __restrict__ dx, bool acc, int64_t N,
                                          int64_t F) {
  for (int64_t n = blockIdx.y; n < N; n += gridDim.y) {
    const float g = dy[n], lse = y[n];
    for (int64_t f = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; f < F; f += int64_t(gridDim.x) * blockDim.x) {
      const int64_t i = n * F + f;
      const float v = g * expf(x[i] - lse);
      dx[i] = acc ? dx[i] + v : v;
    }
  }
}

__global__ void softmax_rows_kernel(const float* __restrict__ x, const float* __restrict__ mask,
                                    float* __restrict__ y, int64_t N, int64_t F) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* xr = x + n * F;
    const float* mr = mask ? mask + n * F : nullptr;
    float* yr = y + n * F;
    float m = -INFINITY, any = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x)
      if (!mr || mr[f] != 0.f) {
        m = fmaxf(m, xr[f]);
        any = 1.f;
      }
    m = block_max(m, shm);
    if (mr) {
      any = block_max(any, shm);  // the same value in every thread: the branch below is uniform
      if (any == 0.f) {
        for (int64_t f = threadIdx.x; f < F; f += blockDim.x) yr[f] = 0.f;
        continue;
      }
    }
    float s = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x)
      if (!mr || mr[f] != 0.f) s += expf(xr[f] - m);
    s = block_sum(s, shm);
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x)
      yr[f] = (!mr || mr[f] != 0.f) ? expf(xr[f] - m) / s : 0.f;
  }
}

__global__ void softmax_rows_bwd_kernel(const float* __restrict__ y, const float* __restrict__ dy,
                                        float* __restrict__ dx, bool acc, int64_t N, int64_t F) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* yr = y + n * F;
    const float* gr = dy + n * F;
    float* d = dx + n * F;
    float dot = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) dot += gr[f] * yr[f];
    dot = block_sum(dot, shm);
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) {
      const float v = yr[f] * (gr[f] - dot);
      d[f] = acc ? d[f] + v : v;
    }
  }
}

__global__ void log_softmax_rows_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t N, int64_t F) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* xr = x + n * F;
    float m = -INFINITY;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) m = fmaxf(m, xr[f]);
    m = block_max(m, shm);
    float s = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) s += expf(xr[f] - m);
    s = block_sum(s, shm);
    const float ls = logf(s);
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) y[n * F + f] = (xr[f] - m) - ls;
  }
}

__global__ void log_softmax_rows_bwd_kernel(const float* __restrict__ y, const float* __restrict__ dy,
                                            float* __restrict__ dx, bool acc, int64_t N, int64_t F) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* gr = dy + n * F;
    float s = 0.f;
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) s += gr[f];
    s = block_sum(s, shm);
    for (int64_t f = threadIdx.x; f < F; f += blockDim.x) {
      const int64_t i = n * F + f;
      const float v = gr[f] - expf(y[i]) * s;
      dx[i] = acc ? dx[i] + v : v;
    }
  }
}

}  // namespace

void sum_rows(cudaStream_t s, const float* x, const float* w, float* y, float alpha, bool accumulate, int64_t N,
              int64_t F) {
  if (N <= 0) return;
  sum_rows_kernel<<<row_blocks(N), row_threads(F), 0, s>>>(x, w, y, alpha, accumulate, N, F);
  check_launch("sum_rows");
}

void sum_cols(cudaStream_t s, const float* x, const float* w, float* y, float alpha, bool accumulate, int64_t N,
              int64_t F) {
  if (F <= 0) return;
  const dim3 block(kColTile, kColRows);
  sum_cols_kernel<<<unsigned((F + kColTile - 1) / kColTile), block, 0, s>>>(x, w, y, alpha, accumulate, N, F);
  check_launch("sum_cols");
}

void sum_all(cudaStream_t s, const float* x, const float* w, float* y, float alpha, bool accumulate, int64_t n,
             float* scratch) {
  if (n <= kSumAllOneBlock) {
    sum_all_final_kernel<<<1, 1024, 0, s>>>(x, w, y, alpha, accumulate, n);
    check_launch("sum_all");
    return;
  }
  if (!scratch) throw std::runtime_error("sum_all: no scratch memory for a two-pass reduction");
  constexpr int kThreads = 256;
  int64_t parts = (n + kThreads * 8 - 1) / (kThreads * 8);
  if (parts > kSumAllMaxPartials) parts = kSumAllMaxPartials;
  sum_all_partial_kernel<<<unsigned(parts), kThreads, 0, s>>>(x, w, scratch, n);
  check_launch("sum_all partials");
  sum_all_final_kernel<<<1, 512, 0, s>>>(scratch, nullptr, y, alpha, accumulate, parts);
  check_launch("sum_all final");
}

void sum_rows_bwd(cudaStream_t s, const float* dy, float* dx, float alpha, bool accumulate, int64_t N, int64_t F) {
  if (N <= 0 || F <= 0) return;
  sum_rows_bwd_kernel<<<grid_2d(N, F), kEltThreads, 0, s>>>(dy, dx, alpha, accumulate, N, F);
  check_launch("sum_rows backward");
}

void sum_cols_bwd(cudaStream_t s, const float* dy, float* dx, bool accumulate, int64_t N, int64_t F) {
  if (N <= 0 || F <= 0) return;
  sum_cols_bwd_kernel<<<grid_2d(N, F), kEltThreads, 0, s>>>(dy, dx, accumulate, N, F);
  check_launch("sum_cols backward");
}

void sum_all_bwd(cudaStream_t s, const float* dy, float* dx, float alpha, bool accumulate, int64_t n) {
  if (n <= 0) return;
  sum_all_bwd_kernel<<<grid_for(n, 256), 256, 0, s>>>(dy, dx, alpha, accumulate, n);
  check_launch("sum_all backward");
}

void logsumexp_rows(cudaStream_t s, const float* x, float* y, int64_t N, int64_t F) {
  if (N <= 0) return;
  logsumexp_rows_kernel<<<row_blocks(N), row_threads(F), 0, s>>>(x, y, N, F);
  check_launch("logsumexp_rows");
}

void logsumexp_rows_bwd(cudaStream_t s, const float* x, const float* y, const float* dy, float* dx, bool accumulate,
                        int64_t N, int64_t F) {
  if (N <= 0 || F <= 0) return;
  logsumexp_rows_bwd_kernel<<<grid_2d(N, F), kEltThreads, 0, s>>>(x, y, dy, dx, accumulate, N, F);
  check_launch("logsumexp_rows backward");
}

void softmax_rows(cudaStream_t s, const float* x, const float* mask, float* y, int64_t N, int64_t F) {
  if (N <= 0) return;
  softmax_rows_kernel<<<row_blocks(N), row_threads(F), 0, s>>>(x, mask, y, N, F);
  check_launch("softmax_rows");
}

void softmax_rows_bwd(cudaStream_t s, const float* y, const float* dy, float* dx, bool accumulate, int64_t N,
                      int64_t F) {
  if (N <= 0) return;
  softmax_rows_bwd_kernel<<<row_blocks(N), row_threads(F), 0, s>>>(y, dy, dx, accumulate, N, F);
  check_launch("softmax_rows backward");
}

void log_softmax_rows(cudaStream_t s, const float* x, float* y, int64_t N, int64_t F) {
  if (N <= 0) return;
  log_softmax_rows_kernel<<<row_blocks(N), row_threads(F), 0, s>>>(x, y, N, F);
  check_launch("log_softmax_rows");
}

void log_softmax_rows_bwd(cudaStream_t s, const float* y, const float* dy, float* dx, bool accumulate, int64_t N,
                          int64_t F) {
  if (N <= 0) return;
  log_softmax_rows_bwd_kernel<<<row_blocks(N), row_threads(F), 0, s>>>(y, dy, dx, accumulate, N, F);
  check_launch("log_softmax_rows backward");
}

}  // namespace cuvi::cuda
