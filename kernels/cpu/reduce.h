// CPU reference for the row, column and whole-tensor reductions and the row softmax family
// (engine/ops/README.md catalog; max-shifted softmax and torch logsumexp, spec scvi-multivi.md §0).
// Double accumulators in a fixed order: results do not depend on the thread count.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/cpu/vmath.h"

namespace cuvi::cpu {

constexpr int64_t kParallelMin = 16384;  // elements below which a loop stays on one thread
constexpr int64_t kColBlock = 256;       // columns per thread in column reductions

// sum_i x[i] * w[i] (w null: 1) with 8 independent double partial sums (vectorises, fixed order).
template <class T>
inline double row_dot(const T* x, const T* w, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  double tail = 0;
  int64_t i = 0;
  if (w) {
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += static_cast<double>(x[i + j]) * static_cast<double>(w[i + j]);
    for (; i < n; ++i) tail += static_cast<double>(x[i]) * static_cast<double>(w[i]);
  } else {
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += static_cast<double>(x[i + j]);
    for (; i < n; ++i) tail += static_cast<double>(x[i]);
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

// *y (+)= v, rounded once to T.
template <class T>
inline void store(T* y,  // one element
                  double v, bool accumulate) {
  *y = static_cast<T>(accumulate ? static_cast<double>(*y) + v : v);
}

// y[n] (+)= alpha * sum_f x[n, f] * w[n, f]
template <class T>
void sum_rows(const T* x,  // (N, F)
              const T* w,  // (N, F) or null (1)
              T* y,        // (N)
              double alpha, bool accumulate, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n) store(y + n, alpha * row_dot(x + n * F, w ? w + n * F : nullptr, F), accumulate);
}

// y[f] (+)= alpha * sum_n x[n, f] * w[n, f], or x[n, f] * row_w[n] (at most one of w, row_w); each thread owns a
// block of columns and walks all rows in order.
template <class T>
void sum_cols(const T* x,  // (N, F)
              const T* w,  // (N, F) or null (1)
              T* y,        // (F)
              double alpha, bool accumulate, int64_t N, int64_t F,
              const T* row_w = nullptr) {  // (N) or null (1)
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t f0 = 0; f0 < F; f0 += kColBlock) {
    const int64_t width = std::min(kColBlock, F - f0);
    double acc[kColBlock];
    for (int64_t j = 0; j < width; ++j) acc[j] = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = x + n * F + f0;
      if (w) {
        const T* wr = w + n * F + f0;
        for (int64_t j = 0; j < width; ++j) acc[j] += static_cast<double>(xr[j]) * static_cast<double>(wr[j]);
      } else if (row_w) {
        const double r = static_cast<double>(row_w[n]);
        for (int64_t j = 0; j < width; ++j) acc[j] += r * static_cast<double>(xr[j]);
      } else {
        for (int64_t j = 0; j < width; ++j) acc[j] += static_cast<double>(xr[j]);
      }
    }
    for (int64_t j = 0; j < width; ++j) store(y + f0 + j, alpha * acc[j], accumulate);
  }
}

// y[0] (+)= alpha * sum_i x[i] * w[i]; fixed chunks summed in chunk order.
template <class T>
void sum_all(const T* x,  // (n)
             const T* w,  // (n) or null (1)
             T* y,        // (1)
             double alpha, bool accumulate, int64_t n) {
  constexpr int64_t kChunk = 4096;
  const int64_t n_chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(n_chunks));
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
    part[c] = row_dot(x + i0, w ? w + i0 : nullptr, len);
  }
  double s = 0;
  for (int64_t c = 0; c < n_chunks; ++c) s += part[c];
  store(y, alpha * s, accumulate);
}

// dx[n, f] (+)= alpha * dy[n]  (backward of sum_rows / mean_rows)
template <class T>
void sum_rows_bwd(const T* dy,  // (N)
                  T* dx,        // (N, F)
                  double alpha, bool accumulate, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const double g = alpha * static_cast<double>(dy[n]);
    T* d = dx + n * F;
    if (accumulate)
      for (int64_t f = 0; f < F; ++f) d[f] = static_cast<T>(static_cast<double>(d[f]) + g);
    else
      for (int64_t f = 0; f < F; ++f) d[f] = static_cast<T>(g);
  }
}

// dx[n, f] (+)= dy[f]  (backward of sum_cols)
template <class T>
void sum_cols_bwd(const T* dy,  // (F)
                  T* dx,        // (N, F)
                  bool accumulate, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    T* d = dx + n * F;
    if (accumulate)
      for (int64_t f = 0; f < F; ++f) d[f] = static_cast<T>(static_cast<double>(d[f]) + static_cast<double>(dy[f]));
    else
      for (int64_t f = 0; f < F; ++f) d[f] = dy[f];
  }
}

// dx[i] (+)= alpha * dy[0]  (backward of sum_all / mean_all)
template <class T>
void sum_all_bwd(const T* dy,  // (1)
                 T* dx,        // (n)
                 double alpha, bool accumulate, int64_t n) {
  const double g = alpha * static_cast<double>(dy[0]);
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) store(dx + i, g, accumulate);
}

// Row maximum ignoring NaN (a NaN row entry still poisons the sums that follow); -inf for an empty set.
template <class T>
inline double row_max(const T* x, int64_t F) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t f = 0; f < F; ++f) {
    const double v = static_cast<double>(x[f]);
    m = v > m ? v : m;
  }
  return m;
}

// sum_f exp(x[f] - m): vm_exp is branch-free and the sum runs in 8 fixed lanes, so it vectorises.
template <class T>
inline double row_exp_sum(const T* x, double m, int64_t F) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t f = 0;
  for (; f + 8 <= F; f += 8)
    for (int l = 0; l < 8; ++l) lane[l] += vm_exp(static_cast<double>(x[f + l]) - m);
  double s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  for (; f < F; ++f) s += vm_exp(static_cast<double>(x[f]) - m);
  return s;
}

// y[n] = log sum_f exp(x[n, f]), torch's form: shift by the row max unless it is infinite,
// so a row of -inf gives -inf and a row holding +inf gives +inf.
template <class T>
void logsumexp_rows(const T* x,  // (N, F)
                    T* y,        // (N)
                    int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin / 4)
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * F;
    const double m = row_max(xr, F);
    const double shift = std::isinf(m) ? 0.0 : m;
    double s = 0;
    for (int64_t f = 0; f < F; ++f) s += std::exp(static_cast<double>(xr[f]) - shift);
    y[n] = static_cast<T>(std::log(s) + m);
  }
}

// dx[n, f] (+)= dy[n] * exp(x[n, f] - y[n])
template <class T>
void logsumexp_rows_bwd(const T* x,   // (N, F)
                        const T* y,   // (N)
                        const T* dy,  // (N)
                        T* dx,        // (N, F)
                        bool accumulate, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin / 4)
  for (int64_t n = 0; n < N; ++n) {
    const double g = static_cast<double>(dy[n]), lse = static_cast<double>(y[n]);
    for (int64_t f = 0; f < F; ++f)
      store(dx + n * F + f, g * std::exp(static_cast<double>(x[n * F + f]) - lse), accumulate);
  }
}

// y = softmax over each row, max-shifted. With a mask (entries != 0 take part), masked entries are 0
// and a row with no unmasked entry is all 0.
template <class T>
void softmax_rows(const T* x,     // (N, F)
                  const T* mask,  // (N, F) or null
                  T* y,           // (N, F)
                  int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin / 4)
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * F;
    T* yr = y + n * F;
    if (!mask) {
      const double m = row_max(xr, F);
      // Both loops vectorise (decoders take this softmax over every gene).
      const double s = row_exp_sum(xr, m, F);
      for (int64_t f = 0; f < F; ++f) yr[f] = static_cast<T>(vm_exp(static_cast<double>(xr[f]) - m) / s);
      continue;
    }
    const T* mr = mask + n * F;
    double m = -std::numeric_limits<double>::infinity();
    bool any = false;
    for (int64_t f = 0; f < F; ++f)
      if (mr[f] != T(0)) {
        any = true;
        const double v = static_cast<double>(xr[f]);
        m = v > m ? v : m;
      }
    if (!any) {
      for (int64_t f = 0; f < F; ++f) yr[f] = T(0);
      continue;
    }
    double s = 0;
    for (int64_t f = 0; f < F; ++f)
      if (mr[f] != T(0)) s += std::exp(static_cast<double>(xr[f]) - m);
    for (int64_t f = 0; f < F; ++f)
      yr[f] = mr[f] != T(0) ? static_cast<T>(std::exp(static_cast<double>(xr[f]) - m) / s) : T(0);
  }
}

// dx = y * (dy - sum_f dy * y)  (softmax and masked softmax: masked entries have y = 0)
template <class T>
void softmax_rows_bwd(const T* y,   // (N, F)
                      const T* dy,  // (N, F)
                      T* dx,        // (N, F)
                      bool accumulate, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const T* yr = y + n * F;
    const T* gr = dy + n * F;
    const double dot = row_dot(gr, yr, F);
    for (int64_t f = 0; f < F; ++f)
      store(dx + n * F + f, static_cast<double>(yr[f]) * (static_cast<double>(gr[f]) - dot), accumulate);
  }
}

// y = (x - max) - log sum exp(x - max), as torch computes it.
template <class T>
void log_softmax_rows(const T* x,  // (N, F)
                      T* y,        // (N, F)
                      int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin / 4)
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * F;
    const double m = row_max(xr, F);
    double s = 0;
    for (int64_t f = 0; f < F; ++f) s += std::exp(static_cast<double>(xr[f]) - m);
    const double ls = std::log(s);
    for (int64_t f = 0; f < F; ++f) y[n * F + f] = static_cast<T>((static_cast<double>(xr[f]) - m) - ls);
  }
}

// dx = dy - exp(y) * sum_f dy
template <class T>
void log_softmax_rows_bwd(const T* y,   // (N, F)
                          const T* dy,  // (N, F)
                          T* dx,        // (N, F)
                          bool accumulate, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin / 4)
  for (int64_t n = 0; n < N; ++n) {
    const T* gr = dy + n * F;
    const double s = row_dot<T>(gr, nullptr, F);
    for (int64_t f = 0; f < F; ++f)
      store(dx + n * F + f, static_cast<double>(gr[f]) - std::exp(static_cast<double>(y[n * F + f])) * s,
            accumulate);
  }
}

}  // namespace cuvi::cpu
