// CUDA minibatch loader kernels: row gather, Philox sort keys + CUB radix sort for the shuffle, and the
// minibatch rows at a cursor in device memory (read at run time, so a captured launch replays correctly).
#include <cub/device/device_radix_sort.cuh>

#include <cmath>

#include "kernels/common/philox.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device_error.cuh"
#include "kernels/cuda/gather.h"

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

// One block: every thread reads the cursor before thread 0 moves it (the barrier orders the two). A cursor
// whose minibatch would run past the epoch reads nothing: the rows become -1 (the gather then writes NaN) and
// the cursor is recorded in err for the host to report. The per-cell tables of the minibatch are gathered in the
// same launch (a row outside the tables gives codes -1, batch and label -1, NaN covariates, and is recorded).
__global__ void __launch_bounds__(256) take_batch_rows_kernel(const int32_t* __restrict__ epoch_rows, int64_t E,
                                                              int64_t* batch_start, int32_t* __restrict__ out,
                                                              int64_t n, int64_t advance, int64_t* err,
                                                              CellGather t) {
  const int64_t start = *batch_start;
  __syncthreads();
  const bool bad = start < 0 || start + n > E;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const int64_t r = bad ? -1 : epoch_rows[start + i];
    out[i] = int32_t(r);
    const bool ok = r >= 0 && r < t.R;
    if (!bad && !ok && t.R > 0) record_device_error(err, kDeviceErrorRow, r);
    if (t.codes_out)
      for (int64_t j = 0; j < t.J; ++j) t.codes_out[i * t.J + j] = ok ? t.codes[r * t.J + j] : -1;
    if (t.batch_out) t.batch_out[i] = ok ? t.batch[r] : -1;
    if (t.labels_out) t.labels_out[i] = ok ? t.labels[r] : -1;
    if (t.cont_out)
      for (int64_t c = 0; c < t.C; ++c) t.cont_out[i * t.C + c] = ok ? t.cont[r * t.C + c] : NAN;
  }
  if (threadIdx.x == 0) {
    if (bad) record_device_error(err, kDeviceErrorCursor, start);
    *batch_start = start + advance;
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

void take_batch_rows(cudaStream_t s, const int32_t* epoch_rows, int64_t E, int64_t* batch_start, int32_t* out,
                     int64_t n, int64_t advance, int64_t* err, const CellGather& tables) {
  take_batch_rows_kernel<<<1, 256, 0, s>>>(epoch_rows, E, batch_start, out, n, advance, err, tables);
  check_launch("take batch rows");
}

}  // namespace cuvi::cuda
