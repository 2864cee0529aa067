// The (distance, index) lists of the exact k-NN kernels, one definition for kernels/cpu/pairwise.h and
// kernels/cuda/pairwise.cu: their order, insertion, sort, and the exact distance of two rows.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace cuvi {

constexpr int32_t kEmptyNeighbor = 0x7fffffff;  // index of an unfilled slot (its distance is +inf)

// (d_a, i_a) before (d_b, i_b): by distance, ties by the smaller index. The one order of every k-NN list.
CUVI_HD bool neighbor_before(float d_a, int32_t i_a, float d_b, int32_t i_b) {
  return d_a < d_b || (d_a == d_b && i_a < i_b);
}

// Puts (d, i) at its place in the ascending list (ld, li)[0, len): the entries from slot `from` down to that
// place move one slot back (slot `from` is overwritten). from = len - 1 inserts into a full list, dropping
// its last entry; from = t re-inserts entry t of a list sorted before t.
CUVI_HD void neighbor_insert(float* ld, int32_t* li, int64_t from, float d, int32_t i) {
  int64_t p = from;
  while (p > 0 && neighbor_before(d, i, ld[p - 1], li[p - 1])) {
    ld[p] = ld[p - 1];
    li[p] = li[p - 1];
    --p;
  }
  ld[p] = d;
  li[p] = i;
}

// Insertion sort of a short list (k <= 128, nearly sorted after re-ranking).
CUVI_HD void neighbor_sort(float* ld, int32_t* li, int64_t len) {
  for (int64_t t = 1; t < len; ++t) neighbor_insert(ld, li, t, ld[t], li[t]);
}

// Euclidean distance of two rows: double sum of squared differences (fma, in index order), rounded once.
CUVI_HD float exact_distance(const float* a, const float* b, int64_t d) {
  double s = 0;
  for (int64_t t = 0; t < d; ++t) {
    const double diff = double(a[t]) - double(b[t]);
    s = fma(diff, diff, s);
  }
  return float(sqrt(s));
}

}  // namespace cuvi
