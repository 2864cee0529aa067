// CUDA launchers for the minibatch loader: row gather (4-byte elements), the Philox shuffle order (CUB
// radix sort of the same 64-bit keys as kernels/cpu/gather.h) and the whole minibatch at a device cursor in one
// launch (rows, per-cell tables, dense counts, log1p, log library).
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

// Per-cell tables of R rows gathered with the minibatch (a null output: not gathered).
struct CellGather {
  const int32_t* codes = nullptr;  // (R, J)
  int32_t* codes_out = nullptr;    // (n, J)
  const int32_t* batch = nullptr;  // (R)
  int32_t* batch_out = nullptr;    // (n)
  const int32_t* labels = nullptr; // (R)
  int32_t* labels_out = nullptr;   // (n)
  const float* cont = nullptr;     // (R, C)
  float* cont_out = nullptr;       // (n, C)
  int64_t J = 0, C = 0;
};

// Everything one minibatch gather reads and writes. Pointers and sizes only, no padding: it goes to the kernel
// by value (the emulator checks that it holds no host address).
struct BatchGather {
  const int32_t* epoch_rows = nullptr;        // (E) the epoch's dataset rows in order
  int64_t E = 0;
  int64_t* batch_start = nullptr;             // (1) device cursor: position of the minibatch's first cell
  int64_t advance = 0;                        // cursor step (the batch size)
  unsigned long long* blocks_done = nullptr;  // (1) device completion counter, zero between launches
  int64_t* err = nullptr;                     // (2) device error (kind, value), kernels/common/device_error.h
  const int64_t* indptr = nullptr;            // (R + 1) CSR counts
  const int32_t* indices = nullptr;           // (nnz)
  const float* data = nullptr;                // (nnz)
  int64_t R = 0, nnz = 0, G = 0;
  int32_t* rows_out = nullptr;                // (n) dataset row of each cell
  float* x = nullptr;                         // (n, G) dense counts
  float* x_log1p = nullptr;                   // (n, G)
  float* log_library = nullptr;               // (n) log of the total count
  CellGather tables;
};

// The minibatch of n cells at the device cursor: rows, per-cell tables, densified counts, log1p and log library
// in one launch; the cursor then moves by `advance` (on the device, so a captured launch gathers the next
// minibatch each time it replays). A cursor past the epoch or a row outside the matrix is recorded in err
// (NaN counts, rows -1) for the host to report.
void gather_batch(cudaStream_t s, const BatchGather& args, int64_t n);

}  // namespace cuvi::cuda
