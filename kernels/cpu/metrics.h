// CPU reference of the epoch-metric accumulator: acc[k] += sum_n v_k[n] for up to four vectors.
#pragma once
#include <cstdint>

namespace cuvi::cpu {

template <class T>
void accumulate_sums(const T* const* v,   // 4 pointers to vectors, null = skip
                     const int64_t* len,  // (4) their lengths
                     double* acc) {       // (4)
  for (int k = 0; k < 4; ++k) {
    if (!v[k]) continue;
    double s = 0;
    for (int64_t n = 0; n < len[k]; ++n) s += double(v[k][n]);
    acc[k] += s;
  }
}

}  // namespace cuvi::cpu
