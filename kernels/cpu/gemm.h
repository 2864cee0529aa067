// CPU reference GEMM, row-major: C(M,N) (+)= op(A)(M,K) * op(B)(K,N), double accumulators, fixed
// summation order (deterministic). Two register-blocked forms, both plain C++ with GCC vector types:
// dot form when op(B) = B^T (A and B rows contiguous in k), outer-product form otherwise.
#pragma once
#include <algorithm>
#include <cstdint>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

namespace cuvi::cpu {

typedef double v8d __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32), aligned(4)));

template <class T>
inline v8d load8(const T* p) {
  if constexpr (sizeof(T) == 4) {
#ifdef __AVX512F__
    // One widening conversion; GCC's generic conversion splits it into 256-bit halves (five uops).
    // (maskz with a full mask: the plain form trips GCC 12's uninitialized warning on its undefined source)
    const __m256 f = _mm256_loadu_ps(reinterpret_cast<const float*>(p));
    return reinterpret_cast<v8d>(_mm512_maskz_cvtps_pd(__mmask8(0xFF), f));
#else
    v8f f;
    __builtin_memcpy(&f, p, sizeof f);
    return __builtin_convertvector(f, v8d);
#endif
  } else {
    v8d d;
    __builtin_memcpy(&d, p, sizeof d);
    return d;
  }
}
inline double hsum(v8d v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }

typedef int64_t v8l __attribute__((vector_size(64)));

// hsum of eight vectors at once, out[t] = hsum(v[t]) bit for bit (same pairs, same order), by
// transposing while adding: 21 vector operations instead of eight shuffle-and-add chains.
inline v8d hsum8(const v8d* v) {
  v8d p[4];  // p[t] = [x01, y01, x23, y23, x45, y45, x67, y67] for x = v[2t], y = v[2t+1]
  for (int t = 0; t < 4; ++t)
    p[t] = __builtin_shuffle(v[2 * t], v[2 * t + 1], (v8l){0, 8, 2, 10, 4, 12, 6, 14}) +
           __builtin_shuffle(v[2 * t], v[2 * t + 1], (v8l){1, 9, 3, 11, 5, 13, 7, 15});
  v8d q[2];  // q[t] = [x0123, y0123, z0123, w0123, x4567, y4567, z4567, w4567]
  for (int t = 0; t < 2; ++t)
    q[t] = __builtin_shuffle(p[2 * t], p[2 * t + 1], (v8l){0, 1, 8, 9, 4, 5, 12, 13}) +
           __builtin_shuffle(p[2 * t], p[2 * t + 1], (v8l){2, 3, 10, 11, 6, 7, 14, 15});
  return __builtin_shuffle(q[0], q[1], (v8l){0, 1, 2, 3, 8, 9, 10, 11}) +
         __builtin_shuffle(q[0], q[1], (v8l){4, 5, 6, 7, 12, 13, 14, 15});
}

// Dot product with 8 independent double partial sums: vectorises without reassociating.
template <class T>
inline double dot_acc(const T* a, const T* b, int64_t n) {
  v8d acc = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) acc += load8(a + k) * load8(b + k);
  double tail = 0;
  for (; k < n; ++k) tail += static_cast<double>(a[k]) * static_cast<double>(b[k]);
  return hsum(acc) + tail;
}

// C[m][n] = sum_k A[m][k] B[n][k]: 4 x 4 tiles of dot products share their loads.
template <class T>
void gemm_dot(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
              bool accumulate) {
  auto store = [&](int64_t m, int64_t n, double v) {
    T& c = C[m * ldc + n];
    c = static_cast<T>(accumulate ? static_cast<double>(c) + v : v);
  };
#pragma omp parallel for schedule(static) if (M * N * K > 65536)
  for (int64_t m0 = 0; m0 < M; m0 += 4) {
    const int64_t mb = std::min<int64_t>(4, M - m0);
    int64_t n0 = 0;
    if (mb == 4) {
      for (; n0 + 4 <= N; n0 += 4) {
        v8d acc[4][4] = {};
        int64_t k = 0;
        for (; k + 8 <= K; k += 8) {
          v8d a[4], b[4];
          for (int i = 0; i < 4; ++i) a[i] = load8(A + (m0 + i) * lda + k);
          for (int j = 0; j < 4; ++j) b[j] = load8(B + (n0 + j) * ldb + k);
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
        }
        const v8d sums[2] = {hsum8(acc[0]), hsum8(acc[2])};  // rows 0-1 and 2-3, 4 columns each
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) {
            double tail = 0;
            for (int64_t t = k; t < K; ++t)
              tail += static_cast<double>(A[(m0 + i) * lda + t]) * static_cast<double>(B[(n0 + j) * ldb + t]);
            store(m0 + i, n0 + j, sums[i / 2][(i % 2) * 4 + j] + tail);
          }
      }
    }
    for (int64_t i = 0; i < mb; ++i)
      for (int64_t n = n0; n < N; ++n) store(m0 + i, n, dot_acc(A + (m0 + i) * lda, B + n * ldb, K));
  }
}

// C[m][n] = sum_k A(m,k) B[k][n], A(m,k) = A[m][k] or, transposed, A[k][m]: each k adds a[m] * B row
// into 4 rows x 32 columns of double accumulators held in registers. Column blocks are the outer
// (parallel) loop, so a (K, 32) panel of B stays in cache while every row tile of C passes over it.
template <class T>
void gemm_outer(bool trans_a, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb,
                T* C, int64_t ldc, bool accumulate) {
  auto a_at = [&](int64_t m, int64_t k) { return static_cast<double>(trans_a ? A[k * lda + m] : A[m * lda + k]); };
  const int64_t n_full = N / 32 * 32;
#pragma omp parallel for schedule(static) if (M * N * K > 65536)
  for (int64_t n0 = 0; n0 < n_full; n0 += 32) {
    for (int64_t m0 = 0; m0 < M; m0 += 4) {
      const int64_t mb = std::min<int64_t>(4, M - m0);
      v8d acc[4][4] = {};
      if (mb == 4) {  // full tile: fixed trip counts keep the 16 accumulators in registers
        for (int64_t k = 0; k < K; ++k) {
          const T* b = B + k * ldb + n0;
          const v8d b0 = load8(b), b1 = load8(b + 8), b2 = load8(b + 16), b3 = load8(b + 24);
          for (int i = 0; i < 4; ++i) {
            const double s = a_at(m0 + i, k);
            acc[i][0] += s * b0;
            acc[i][1] += s * b1;
            acc[i][2] += s * b2;
            acc[i][3] += s * b3;
          }
        }
      } else {
        for (int64_t k = 0; k < K; ++k) {
          const T* b = B + k * ldb + n0;
          const v8d b0 = load8(b), b1 = load8(b + 8), b2 = load8(b + 16), b3 = load8(b + 24);
          for (int64_t i = 0; i < mb; ++i) {
            const double s = a_at(m0 + i, k);
            acc[i][0] += s * b0;
            acc[i][1] += s * b1;
            acc[i][2] += s * b2;
            acc[i][3] += s * b3;
          }
        }
      }
      for (int64_t i = 0; i < mb; ++i) {
        T* c = C + (m0 + i) * ldc + n0;
        for (int j = 0; j < 4; ++j)
          for (int t = 0; t < 8; ++t) {
            const double v = acc[i][j][t];
            c[j * 8 + t] = static_cast<T>(accumulate ? static_cast<double>(c[j * 8 + t]) + v : v);
          }
      }
    }
  }
  if (n_full == N) return;
  // The last < 32 columns: one row of C at a time, walking B's rows (contiguous), same order in k.
  const int64_t nr = N - n_full;
#pragma omp parallel for schedule(static) if (M * nr * K > 65536)
  for (int64_t m = 0; m < M; ++m) {
    double v[32] = {};
    for (int64_t k = 0; k < K; ++k) {
      const double a = a_at(m, k);
      const T* b = B + k * ldb + n_full;
      for (int64_t n = 0; n < nr; ++n) v[n] += a * static_cast<double>(b[n]);
    }
    T* c = C + m * ldc + n_full;
    for (int64_t n = 0; n < nr; ++n) c[n] = static_cast<T>(accumulate ? static_cast<double>(c[n]) + v[n] : v[n]);
  }
}

// trans_a: A is stored (K, M); trans_b: B is stored (N, K). lda/ldb/ldc are row strides.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
          int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  if (trans_b && !trans_a) return gemm_dot(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
  if (!trans_b) return gemm_outer(trans_a, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
  // Both transposed (unused by the ops): C = (B A)^T, element by element.
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double v = 0;
      for (int64_t k = 0; k < K; ++k) v += static_cast<double>(A[k * lda + m]) * static_cast<double>(B[n * ldb + k]);
      T& c = C[m * ldc + n];
      c = static_cast<T>(accumulate ? static_cast<double>(c) + v : v);
    }
}

}  // namespace cuvi::cpu
