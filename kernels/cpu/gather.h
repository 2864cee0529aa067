// CPU reference for the minibatch loader: row gather of a dense per-cell table (4-byte elements,
// float or int32 bit-for-bit), the Philox shuffle order shared with the CUDA path, and the minibatch
// rows at the loader's cursor.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/common/philox.h"

namespace cuvi::cpu {

template <class T>
void gather_rows(const T* table,      // (R, F)
                 const int32_t* rows, // (N)
                 T* out,              // (N, F)
                 int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > 65536)
  for (int64_t n = 0; n < N; ++n) std::memcpy(out + n * F, table + int64_t(rows[n]) * F, F * sizeof(T));
}

// out = codes with column j set to `value` (transform_batch: the decoder sees another batch).
inline void replace_column(const int32_t* codes,  // (N, J)
                           int32_t* out,          // (N, J)
                           int64_t N, int64_t J, int64_t j, int32_t value) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < J; ++k) out[n * J + k] = k == j ? value : codes[n * J + k];
}

// out[i] = epoch_rows[*batch_start + i] for i < n, then *batch_start += advance (the CUDA loader's cursor
// step; here the cursor is host memory). Returns false, writing nothing, when the rows run past the epoch.
inline bool take_batch_rows(const int32_t* epoch_rows,  // (E)
                            int64_t E, int64_t* batch_start, int32_t* out /*(n)*/, int64_t n, int64_t advance) {
  const int64_t start = *batch_start;
  if (start < 0 || start + n > E) return false;
  if (n) std::memcpy(out, epoch_rows + start, size_t(n) * sizeof(int32_t));
  *batch_start = start + advance;
  return true;
}

// Sort key of position i in epoch `epoch`: Philox word in the high half, i in the low half, so
// keys are unique and the order is the same on every backend.
inline uint64_t shuffle_key(uint64_t seed, uint32_t epoch, uint32_t stream, uint64_t i) {
  return (uint64_t(philox_u32(seed, epoch, stream, i)) << 32) | uint64_t(uint32_t(i));
}

// order[k] = position of the k-th element after shuffling 0..n-1.
inline void philox_permutation(uint64_t seed, uint32_t epoch, uint32_t stream, int64_t n, int32_t* order) {
  std::vector<uint64_t> keys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) keys[i] = shuffle_key(seed, epoch, stream, uint64_t(i));
  std::sort(keys.begin(), keys.end());
  for (int64_t i = 0; i < n; ++i) order[i] = int32_t(uint32_t(keys[i]));
}

}  // namespace cuvi::cpu
