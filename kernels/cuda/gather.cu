// CUDA minibatch loader kernels: row gather, Philox sort keys + CUB radix sort for the shuffle, and the whole
// minibatch gather at a cursor in device memory (read at run time, so a captured launch replays correctly).
#include <cub/device/device_radix_sort.cuh>

#include <cmath>

#include "kernels/common/philox.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device_error.cuh"
#include "kernels/cuda/gather.h"
#include "kernels/cuda/norm_sums.cuh"

namespace cuvi::cuda {
namespace {

__global__ void gather_rows_kernel(const uint32_t* __restrict__ table, const int32_t* __restrict__ rows,
                                   uint32_t* __restrict__ out, int64_t N, int64_t F) {
  const int64_t total = N * F;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / F, f = i - n * F;
    out[i] = table[int64_t(rows[n]) * F + f];
  }
}

__global__ void shuffle_keys_kernel(uint64_t seed, uint32_t epoch, uint32_t stream, int64_t n, uint64_t* keys) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    keys[i] = (uint64_t(philox_u32(seed, epoch, stream, uint64_t(i))) << 32) | uint64_t(uint32_t(i));
}

__global__ void keys_to_order_kernel(const uint64_t* __restrict__ keys, int32_t* __restrict__ order, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    order[i] = int32_t(uint32_t(keys[i]));
}

__global__ void take_rows_kernel(const int32_t* __restrict__ subset, const int32_t* __restrict__ order,
                                 int32_t* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = subset[order[i]];
}

// The whole minibatch gather as one launch, a block per cell (cells strided over the grid): the cell's dataset
// row at the device cursor, its per-cell tables, its dense counts, log1p(counts) and log library. Every block
// reads the cursor before it counts itself done; the last block to finish moves the cursor and clears the
// counter (so a replayed graph gathers the next minibatch). A cursor whose minibatch would run past the epoch
// reads nothing (rows -1, NaN counts, codes -1) and is recorded in err; so is a row outside the matrix.
__global__ void __launch_bounds__(256) gather_batch_kernel(BatchGather a, int64_t n) {
  __shared__ float shm[32];
  const int64_t start = *a.batch_start;
  const bool bad = start < 0 || start + n > a.E;
  const CellGather& t = a.tables;
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    const int64_t r = bad ? -1 : a.epoch_rows[start + i];
    const bool ok = r >= 0 && r < a.R;  // uniform across the block
    if (threadIdx.x == 0) {
      a.rows_out[i] = int32_t(r);
      if (!bad && !ok) record_device_error(a.err, kDeviceErrorRow, r);
      if (t.batch_out) t.batch_out[i] = ok ? t.batch[r] : -1;
      if (t.labels_out) t.labels_out[i] = ok ? t.labels[r] : -1;
    }
    if (t.codes_out)
      for (int64_t j = threadIdx.x; j < t.J; j += blockDim.x) t.codes_out[i * t.J + j] = ok ? t.codes[r * t.J + j] : -1;
    if (t.cont_out)
      for (int64_t c = threadIdx.x; c < t.C; c += blockDim.x) t.cont_out[i * t.C + c] = ok ? t.cont[r * t.C + c] : NAN;
    float* xr = a.x + i * a.G;
    float* lr = a.x_log1p + i * a.G;
    if (!ok) {
      for (int64_t g = threadIdx.x; g < a.G; g += blockDim.x) xr[g] = lr[g] = NAN;
      if (threadIdx.x == 0) a.log_library[i] = NAN;
      continue;
    }
    for (int64_t g = threadIdx.x; g < a.G; g += blockDim.x) xr[g] = lr[g] = 0.f;
    __syncthreads();  // zeros land before the nonzeros of this row
    int64_t k0 = a.indptr[r], k1 = a.indptr[r + 1];
    if (k0 < 0) k0 = 0;
    if (k1 > a.nnz) k1 = a.nnz;
    float total = 0.f;  // counts: exact in fp32 up to 2^24 per cell, whatever the order
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) {
      const int64_t c = a.indices[k];
      if (c >= 0 && c < a.G) {
        const float v = a.data[k];
        xr[c] = v;
        lr[c] = log1pf(v);
        total += v;
      }
    }
    total = block_sum(total, shm);
    if (threadIdx.x == 0) a.log_library[i] = logf(total);
  }
  __syncthreads();  // every thread of this block has read the cursor
  if (threadIdx.x == 0) {
    if (blockIdx.x == 0 && bad) record_device_error(a.err, kDeviceErrorCursor, start);
    __threadfence();
    const unsigned long long done = atomicAdd(a.blocks_done, 1ull);
    if (done == gridDim.x - 1) {  // the last block: every block has read the cursor
      *a.batch_start = start + a.advance;
      *a.blocks_done = 0;
    }
  }
}

__global__ void replace_column_kernel(const int32_t* __restrict__ codes, int32_t* __restrict__ out, int64_t N,
                                      int64_t J, int64_t j, int32_t value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < N * J; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = (i % J == j) ? value : codes[i];
}

size_t cub_bytes(int64_t n) {
  size_t bytes = 0;
  cub::DeviceRadixSort::SortKeys(nullptr, bytes, static_cast<const uint64_t*>(nullptr),
                                 static_cast<uint64_t*>(nullptr), int(n));
  return bytes;
}

size_t align256(size_t b) { return (b + 255) / 256 * 256; }

}  // namespace

void gather_rows(cudaStream_t s, const void* table, const int32_t* rows, void* out, int64_t N, int64_t F) {
  if (N * F == 0) return;
  gather_rows_kernel<<<grid_for(N * F, 256), 256, 0, s>>>(static_cast<const uint32_t*>(table), rows,
                                                          static_cast<uint32_t*>(out), N, F);
  check_launch("gather rows");
}

void replace_column(cudaStream_t s, const int32_t* codes, int32_t* out, int64_t N, int64_t J, int64_t j,
                    int32_t value) {
  if (N * J == 0) return;
  replace_column_kernel<<<grid_for(N * J, 256), 256, 0, s>>>(codes, out, N, J, j, value);
  check_launch("replace column");
}

size_t philox_permutation_scratch(int64_t n) { return 2 * align256(n * sizeof(uint64_t)) + align256(cub_bytes(n)); }

void philox_permutation(cudaStream_t s, uint64_t seed, uint32_t epoch, uint32_t stream, int64_t n, int32_t* order,
                        void* scratch, size_t scratch_bytes) {
  if (n == 0) return;
  if (scratch_bytes < philox_permutation_scratch(n)) throw std::runtime_error("philox_permutation: scratch too small");
  uint64_t* keys = static_cast<uint64_t*>(scratch);
  uint64_t* sorted = reinterpret_cast<uint64_t*>(static_cast<char*>(scratch) + align256(n * sizeof(uint64_t)));
  void* temp = static_cast<char*>(scratch) + 2 * align256(n * sizeof(uint64_t));
  size_t temp_bytes = cub_bytes(n);
  shuffle_keys_kernel<<<grid_for(n, 256), 256, 0, s>>>(seed, epoch, stream, n, keys);
  check_launch("shuffle keys");
  check(cub::DeviceRadixSort::SortKeys(temp, temp_bytes, keys, sorted, int(n), 0, 64, s), "shuffle sort");
  keys_to_order_kernel<<<grid_for(n, 256), 256, 0, s>>>(sorted, order, n);
  check_launch("shuffle order");
}

void take_rows(cudaStream_t s, const int32_t* subset, const int32_t* order, int32_t* out, int64_t n) {
  if (n == 0) return;
  take_rows_kernel<<<grid_for(n, 256), 256, 0, s>>>(subset, order, out, n);
  check_launch("take rows");
}

void gather_batch(cudaStream_t s, const BatchGather& args, int64_t n) {
  if (n <= 0) return;
  const unsigned blocks = n < 65535 ? unsigned(n) : 65535u;
  gather_batch_kernel<<<blocks, 256, 0, s>>>(args, n);
  check_launch("minibatch gather");
}

}  // namespace cuvi::cuda
