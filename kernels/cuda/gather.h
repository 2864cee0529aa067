// CUDA launchers for the minibatch loader: row gather (4-byte elements), the Philox shuffle order (CUB
// radix sort of the same 64-bit keys as kernels/cpu/gather.h) and the minibatch rows at a device cursor.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace cuvi::cuda {

void gather_rows(cudaStream_t s, const void* table /*(R, F) 4-byte*/, const int32_t* rows /*(N)*/,
                 void* out /*(N, F)*/, int64_t N, int64_t F);

void replace_column(cudaStream_t s, const int32_t* codes /*(N, J)*/, int32_t* out /*(N, J)*/, int64_t N, int64_t J,
                    int64_t j, int32_t value);

// Scratch bytes philox_permutation needs for n elements (keys, sorted keys and CUB's storage).
size_t philox_permutation_scratch(int64_t n);
void philox_permutation(cudaStream_t s, uint64_t seed, uint32_t epoch, uint32_t stream, int64_t n,
                        int32_t* order /*(n)*/, void* scratch, size_t scratch_bytes);

// out[k] = subset[order[k]]: the epoch's row sequence from the shuffled positions.
void take_rows(cudaStream_t s, const int32_t* subset, const int32_t* order, int32_t* out, int64_t n);

// Per-cell tables of R rows gathered with the minibatch rows by take_batch_rows (a null output: not gathered).
// All pointers and sizes, no padding: the struct goes to the kernel by value.
struct CellGather {
  const int32_t* codes = nullptr;  // (R, J)
  int32_t* codes_out = nullptr;    // (n, J)
  const int32_t* batch = nullptr;  // (R)
  int32_t* batch_out = nullptr;    // (n)
  const int32_t* labels = nullptr; // (R)
  int32_t* labels_out = nullptr;   // (n)
  const float* cont = nullptr;     // (R, C)
  float* cont_out = nullptr;       // (n, C)
  int64_t J = 0, C = 0, R = 0;
};

// out[i] = epoch_rows[*batch_start + i] for i < n, then *batch_start += advance: the minibatch's rows taken
// at the cursor read on the device, so a captured launch gathers the next minibatch each time it replays.
// When the rows would run past the epoch (E rows) it writes rows -1 and records the cursor in err = (kind, value)
// (kernels/common/device_error.h), which the host reads after the epoch. One block.
void take_batch_rows(cudaStream_t s, const int32_t* epoch_rows /*(E)*/, int64_t E, int64_t* batch_start /*(1)*/,
                     int32_t* out /*(n)*/, int64_t n, int64_t advance, int64_t* err /*(2)*/,
                     const CellGather& tables);

}  // namespace cuvi::cuda
