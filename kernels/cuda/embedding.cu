// CUDA embedding lookup/gradient and CSR row gather. The table gradient gives each thread one (s, f) entry
// and scans the codes (staged in shared memory) in row order: deterministic without float atomics.
#include <cmath>

#include "kernels/cuda/check.h"
#include "kernels/cuda/device_error.cuh"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/norm_sums.cuh"

namespace cuvi::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kTileF = 32;                    // features per block in the table gradient
constexpr int kTileS = 8;                     // categories per block in the table gradient
constexpr int kCodeTile = kTileF * kTileS;    // codes staged in shared memory at a time
constexpr unsigned kMaxRowBlocks = 1u << 20;

__global__ void embedding_fwd_kernel(const float* __restrict__ table, const int32_t* __restrict__ codes,
                                     float* __restrict__ y, int64_t N, int64_t F, int64_t S) {
  for (int64_t n = blockIdx.y; n < N; n += gridDim.y) {
    const int64_t c = codes[n];
    const bool bad = c < 0 || c >= S;
    for (int64_t f = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; f < F; f += int64_t(gridDim.x) * blockDim.x)
      y[n * F + f] = bad ? NAN : table[c * F + f];
  }
}

__global__ void embedding_bwd_kernel(const int32_t* __restrict__ codes, const float* __restrict__ dy,
                                     float* __restrict__ dtable, bool acc, int64_t N, int64_t F, int64_t S) {
  __shared__ int32_t tile[kCodeTile];
  const int tid = threadIdx.y * kTileF + threadIdx.x;
  const int64_t f = int64_t(blockIdx.x) * kTileF + threadIdx.x;
  for (int64_t s0 = int64_t(blockIdx.y) * kTileS; s0 < S; s0 += int64_t(gridDim.y) * kTileS) {
    const int64_t s = s0 + threadIdx.y;
    const bool valid = f < F && s < S;
    float a = 0.f;
    for (int64_t n0 = 0; n0 < N; n0 += kCodeTile) {
      __syncthreads();  // every thread is done with the previous tile
      if (n0 + tid < N) tile[tid] = codes[n0 + tid];
      __syncthreads();
      const int count = N - n0 < kCodeTile ? int(N - n0) : kCodeTile;
      if (valid)
        for (int j = 0; j < count; ++j)
          if (tile[j] == s) a += dy[(n0 + j) * F + f];
    }
    if (valid) dtable[s * F + f] = acc ? dtable[s * F + f] + a : a;
  }
}

template <class Index>
__global__ void __launch_bounds__(kThreads)
    gather_csr_rows_kernel(const Index* __restrict__ indptr, const int32_t* __restrict__ indices,
                           const float* __restrict__ data, const int32_t* __restrict__ rows, float* __restrict__ x,
                           float* __restrict__ x_log1p, float* __restrict__ log_library, int64_t* err, int64_t N,
                           int64_t G, int64_t R, int64_t nnz, bool vec4) {
  __shared__ float shm[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    float* xr = x + n * G;
    float* lr = x_log1p + n * G;
    const int64_t r = rows[n];
    if (r < 0 || r >= R) {  // uniform across the block
      for (int64_t g = threadIdx.x; g < G; g += blockDim.x) xr[g] = lr[g] = NAN;
      if (threadIdx.x == 0) {
        log_library[n] = NAN;
        record_device_error(err, kDeviceErrorRow, r);
      }
      continue;
    }
    if (vec4) {
      float4* x4 = reinterpret_cast<float4*>(xr);
      float4* l4 = reinterpret_cast<float4*>(lr);
      for (int64_t g = threadIdx.x; g < G / 4; g += blockDim.x) x4[g] = l4[g] = make_float4(0.f, 0.f, 0.f, 0.f);
    } else {
      for (int64_t g = threadIdx.x; g < G; g += blockDim.x) xr[g] = lr[g] = 0.f;
    }
    __syncthreads();  // zeros land before the nonzeros of this row
    int64_t k0 = int64_t(indptr[r]), k1 = int64_t(indptr[r + 1]);
    if (k0 < 0) k0 = 0;
    if (k1 > nnz) k1 = nnz;
    float total = 0.f;  // counts: exact in fp32 up to 2^24 per cell, whatever the order
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) {
      const int64_t c = indices[k];
      if (c >= 0 && c < G) {
        const float v = data[k];
        xr[c] = v;
        lr[c] = log1pf(v);
        total += v;
      }
    }
    total = block_sum(total, shm);
    if (threadIdx.x == 0) log_library[n] = logf(total);
  }
}

template <class Index>
void gather_csr_rows_impl(cudaStream_t s, const Index* indptr, const int32_t* indices, const float* data,
                          const int32_t* rows, float* x, float* x_log1p, float* log_library, int64_t* err, int64_t N,
                          int64_t G, int64_t R, int64_t nnz) {
  if (N <= 0 || G <= 0) return;
  const bool vec4 = G % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(x_log1p) % 16 == 0;
  const unsigned blocks = N < int64_t(kMaxRowBlocks) ? unsigned(N) : kMaxRowBlocks;
  gather_csr_rows_kernel<Index><<<blocks, kThreads, 0, s>>>(indptr, indices, data, rows, x, x_log1p, log_library, err,
                                                            N, G, R, nnz, vec4);
  check_launch("gather_csr_rows");
}

}  // namespace

void embedding_fwd(cudaStream_t s, const float* table, const int32_t* codes, float* y, int64_t N, int64_t F,
                   int64_t S) {
  if (N <= 0 || F <= 0) return;
  const int64_t gx = (F + kThreads - 1) / kThreads;
  const dim3 grid(unsigned(gx < 65535 ? gx : 65535), unsigned(N < 65535 ? N : 65535));
  embedding_fwd_kernel<<<grid, kThreads, 0, s>>>(table, codes, y, N, F, S);
  check_launch("embedding forward");
}

void embedding_bwd(cudaStream_t s, const int32_t* codes, const float* dy, float* dtable, bool accumulate, int64_t N,
                   int64_t F, int64_t S) {
  if (S <= 0 || F <= 0) return;
  const int64_t gy = (S + kTileS - 1) / kTileS;
  const dim3 grid(unsigned((F + kTileF - 1) / kTileF), unsigned(gy < 65535 ? gy : 65535));
  embedding_bwd_kernel<<<grid, dim3(kTileF, kTileS), 0, s>>>(codes, dy, dtable, accumulate, N, F, S);
  check_launch("embedding backward");
}

void gather_csr_rows(cudaStream_t s, const int64_t* indptr, const int32_t* indices, const float* data,
                     const int32_t* rows, float* x, float* x_log1p, float* log_library, int64_t* err, int64_t N,
                     int64_t G, int64_t R, int64_t nnz) {
  gather_csr_rows_impl(s, indptr, indices, data, rows, x, x_log1p, log_library, err, N, G, R, nnz);
}

void gather_csr_rows(cudaStream_t s, const int32_t* indptr, const int32_t* indices, const float* data,
                     const int32_t* rows, float* x, float* x_log1p, float* log_library, int64_t* err, int64_t N,
                     int64_t G, int64_t R, int64_t nnz) {
  gather_csr_rows_impl(s, indptr, indices, data, rows, x, x_log1p, log_library, err, N, G, R, nnz);
}

}  // namespace cuvi::cuda
