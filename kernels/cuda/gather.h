// CUDA launchers for the minibatch loader: row gather (4-byte elements) and the Philox shuffle
// order (CUB radix sort of the same 64-bit keys as kernels/cpu/gather.h).
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

}  // namespace cuvi::cuda
