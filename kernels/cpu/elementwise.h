// CPU reference for broadcast add/sub/mul, scale (optionally by the step's kl_weight), concat_cols and
// slice_cols (engine/ops/README.md catalog; loss assembly and warm-up, spec scvi-multivi.md §1.5).
// b of a broadcast op is addressed as b[n * b_rs + f * b_cs]: (N,F) -> (F,1), (F) -> (0,1), (N,1) -> (1,0), (1) -> (0,0).
#pragma once
#include <cstdint>

#include "kernels/cpu/reduce.h"

namespace cuvi::cpu {

// y = a + alpha * b  (add: alpha = 1, sub: alpha = -1)
template <class T>
void add_bcast(const T* a,  // (N, F)
               const T* b,  // broadcast by (b_rs, b_cs)
               T* y,        // (N, F)
               double alpha, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const T* ar = a + n * F;
    const T* br = b + n * b_rs;
    T* yr = y + n * F;
    if (b_cs) {
      for (int64_t f = 0; f < F; ++f) yr[f] = static_cast<T>(double(ar[f]) + alpha * double(br[f]));
    } else {
      const double bv = alpha * double(br[0]);
      for (int64_t f = 0; f < F; ++f) yr[f] = static_cast<T>(double(ar[f]) + bv);
    }
  }
}

// y = a * b
template <class T>
void mul_bcast(const T* a,  // (N, F)
               const T* b,  // broadcast by (b_rs, b_cs)
               T* y,        // (N, F)
               int64_t N, int64_t F, int64_t b_rs, int64_t b_cs) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const T* ar = a + n * F;
    const T* br = b + n * b_rs;
    T* yr = y + n * F;
    if (b_cs) {
      for (int64_t f = 0; f < F; ++f) yr[f] = static_cast<T>(double(ar[f]) * double(br[f]));
    } else {
      const double bv = double(br[0]);
      for (int64_t f = 0; f < F; ++f) yr[f] = static_cast<T>(double(ar[f]) * bv);
    }
  }
}

// db (+)= alpha * (dy * w) summed over the broadcast axes of b (w null: 1).
template <class T>
void reduce_to_bcast(const T* dy,  // (N, F)
                     const T* w,   // (N, F) or null
                     T* db,        // shape of b
                     double alpha, bool accumulate, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs) {
  if (b_rs && b_cs) {  // (N, F): no reduction
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
    for (int64_t i = 0; i < N * F; ++i)
      store(db + i, alpha * double(dy[i]) * (w ? double(w[i]) : 1.0), accumulate);
  } else if (b_cs) {  // (F)
    sum_cols(dy, w, db, alpha, accumulate, N, F);
  } else if (b_rs) {  // (N, 1)
    sum_rows(dy, w, db, alpha, accumulate, N, F);
  } else {  // (1)
    sum_all(dy, w, db, alpha, accumulate, N * F);
  }
}

// Backward of add/sub: da (+)= dy, db (+)= alpha * reduce(dy). da or db may be null.
template <class T>
void add_bcast_bwd(const T* dy,  // (N, F)
                   T* da,        // (N, F) or null
                   T* db,        // shape of b, or null
                   bool acc_a, bool acc_b, double alpha, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs) {
  if (da) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
    for (int64_t i = 0; i < N * F; ++i) store(da + i, double(dy[i]), acc_a);
  }
  if (db) reduce_to_bcast<T>(dy, nullptr, db, alpha, acc_b, N, F, b_rs, b_cs);
}

// Backward of mul: da (+)= dy * b, db (+)= reduce(dy * a).
template <class T>
void mul_bcast_bwd(const T* a,   // (N, F)
                   const T* b,   // broadcast by (b_rs, b_cs)
                   const T* dy,  // (N, F)
                   T* da,        // (N, F) or null
                   T* db,        // shape of b, or null
                   bool acc_a, bool acc_b, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs) {
  if (da) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
    for (int64_t n = 0; n < N; ++n) {
      const T* gr = dy + n * F;
      const T* br = b + n * b_rs;
      T* d = da + n * F;
      if (b_cs) {
        for (int64_t f = 0; f < F; ++f) store(d + f, double(gr[f]) * double(br[f]), acc_a);
      } else {
        const double bv = double(br[0]);
        for (int64_t f = 0; f < F; ++f) store(d + f, double(gr[f]) * bv, acc_a);
      }
    }
  }
  if (db) reduce_to_bcast<T>(dy, a, db, 1.0, acc_b, N, F, b_rs, b_cs);
}

// y (+)= c * x with c = f0, times kl_weight when the op uses it (the caller folds it into c).
template <class T>
void scale(const T* x,  // (n)
           T* y,        // (n)
           double c, bool accumulate, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) store(y + i, c * double(x[i]), accumulate);
}

// dst[n, dst_col0 + j] (+)= src[n, src_col0 + j] for j < W (concat_cols, slice_cols and their gradients).
template <class T>
void copy_cols(const T* src,  // (N, src_ld)
               int64_t src_ld, int64_t src_col0,
               T* dst,        // (N, dst_ld)
               int64_t dst_ld, int64_t dst_col0, int64_t N, int64_t W, bool accumulate) {
#pragma omp parallel for schedule(static) if (N * W > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const T* s = src + n * src_ld + src_col0;
    T* d = dst + n * dst_ld + dst_col0;
    if (accumulate)
      for (int64_t j = 0; j < W; ++j) d[j] = static_cast<T>(double(d[j]) + double(s[j]));
    else
      for (int64_t j = 0; j < W; ++j) d[j] = s[j];
  }
}

// Backward of slice_cols: dx[:, start:start+len] (+)= dy; the other columns are zeroed unless accumulating.
template <class T>
void slice_cols_bwd(const T* dy,  // (N, len)
                    T* dx,        // (N, F)
                    int64_t start, int64_t len, bool accumulate, int64_t N, int64_t F) {
  if (!accumulate) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
    for (int64_t n = 0; n < N; ++n) {
      T* d = dx + n * F;
      for (int64_t f = 0; f < start; ++f) d[f] = T(0);
      for (int64_t f = start + len; f < F; ++f) d[f] = T(0);
    }
  }
  copy_cols(dy, len, 0, dx, F, start, N, len, accumulate);
}

}  // namespace cuvi::cpu
