// CPU reference for the likelihood family (kernels/common/likelihood.h): per-row sums of elementwise
// log-densities, their gradients with broadcast inputs reduced over rows in a fixed tile order, and the
// mixture-of-Gaussians prior over full vectors (spec mrvi.md §2). Double accumulation, deterministic.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/likelihood.h"

namespace cuvi::cpu {

template <class T>
inline double lik_arg(const LikInputs<T>& in, int i, int64_t n, int64_t j, int64_t C) {
  return in.mode[i] == kLikAbsent ? in.dflt[i] : static_cast<double>(in.p[i][lik_index(in.mode[i], n, j, C)]);
}

// ll[n] = sum_j f(kind, inputs at (n, j)).
template <class T>
void lik_rows_fwd(int kind, const LikInputs<T>& in, double eps,
                  T* ll,  // (N)
                  int64_t N, int64_t C) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    double s = 0;
    for (int64_t j = 0; j < C; ++j)
      s += lik_eval(kind, lik_arg(in, 0, n, j, C), lik_arg(in, 1, n, j, C), lik_arg(in, 2, n, j, C),
                    lik_arg(in, 3, n, j, C), eps, 0u)
               .ll;
    ll[n] = static_cast<T>(s);
  }
}

// Sums the tile partials (T, C) of a broadcast input into its gradient: (C) for a row-broadcast input,
// (1) for a scalar. Tiles are summed in order, so the result does not depend on the thread count.
template <class T>
void lik_reduce_partials(const double* partial,  // (tiles, C)
                         T* d,                   // (C) or (1)
                         bool accumulate, int mode, int64_t tiles, int64_t C) {
  if (mode == kLikRow) {
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < C; ++j) {
      double s = accumulate ? static_cast<double>(d[j]) : 0.0;
      for (int64_t t = 0; t < tiles; ++t) s += partial[t * C + j];
      d[j] = static_cast<T>(s);
    }
  } else {
    double s = accumulate ? static_cast<double>(d[0]) : 0.0;
    for (int64_t t = 0; t < tiles; ++t)
      for (int64_t j = 0; j < C; ++j) s += partial[t * C + j];
    d[0] = static_cast<T>(s);
  }
}

// d_in[i] (+)= dll[n] * d f / d a_i for every input whose g.d[i] is non-null. dll null: zero gradient.
template <class T>
void lik_rows_bwd(int kind, const LikInputs<T>& in, double eps,
                  const T* dll,  // (N) or null
                  const LikGrads<T>& g, int64_t N, int64_t C) {
  unsigned want = 0;
  for (int i = 0; i < 4; ++i)
    if (g.d[i] && in.mode[i] != kLikAbsent) want |= 1u << i;
  const int64_t R = lik_rows_per_tile(N, C), tiles = lik_tiles(N, C);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    for (int i = 0; i < 4; ++i)
      if ((want >> i & 1u) && in.mode[i] != kLikFull)
        for (int64_t j = 0; j < C; ++j) g.partial[i][t * C + j] = 0.0;
    const int64_t n1 = (t + 1) * R < N ? (t + 1) * R : N;
    for (int64_t n = t * R; n < n1; ++n) {
      const double w = dll ? static_cast<double>(dll[n]) : 0.0;
      for (int64_t j = 0; j < C; ++j) {
        LikOut o{0, {0, 0, 0, 0}};
        if (dll)
          o = lik_eval(kind, lik_arg(in, 0, n, j, C), lik_arg(in, 1, n, j, C), lik_arg(in, 2, n, j, C),
                       lik_arg(in, 3, n, j, C), eps, want);
        for (int i = 0; i < 4; ++i) {
          if (!(want >> i & 1u)) continue;
          const double v = dll ? w * o.d[i] : 0.0;
          if (in.mode[i] == kLikFull) {
            T& dst = g.d[i][n * C + j];
            dst = static_cast<T>(g.acc[i] ? static_cast<double>(dst) + v : v);
          } else {
            g.partial[i][t * C + j] += v;
          }
        }
      }
    }
  }
  for (int i = 0; i < 4; ++i)
    if ((want >> i & 1u) && in.mode[i] != kLikFull)
      lik_reduce_partials<T>(g.partial[i], g.d[i], g.acc[i], in.mode[i], tiles, C);
}

// ---------------------------------------------------------------------------------------------------
// Mixture of diagonal Gaussians over full vectors (MrVI u prior):
//   ll[n] = logsumexp_k( log_softmax(logits)_k + sum_d log N(u[n,d]; means[k,d], exp(log_scales[k,d])) )
// Gradients with responsibilities w_k = exp(lp_k - ll): du_d = -sum_k w_k z_kd / s_kd,
// dmeans_kd = w_k z_kd / s_kd, dlog_scales_kd = w_k (z_kd^2 - 1), dlogits_k = w_k - softmax(logits)_k,
// z_kd = (u_d - means_kd) / s_kd. means/log_scales (and logits of shape (K)) are summed over rows via
// tile partials like lik_rows_bwd.

constexpr int kMogMaxK = 512;  // stack arrays of the CPU reference; the shape rule enforces it

// lp[k] for row n and the log-normaliser of the logits; returns logsumexp_k lp[k].
template <class T>
double mog_row(const T* u, const T* logits, bool logits_rows, const T* means, const T* log_scales, int64_t n,
               int64_t K, int64_t D, double* lp, double* pik) {
  const T* a = logits + (logits_rows ? n * K : 0);
  double amax = -INFINITY;
  for (int64_t k = 0; k < K; ++k) amax = static_cast<double>(a[k]) > amax ? static_cast<double>(a[k]) : amax;
  double as = 0;
  for (int64_t k = 0; k < K; ++k) as += exp(static_cast<double>(a[k]) - amax);
  const double alse = amax == -INFINITY ? -INFINITY : amax + log(as);
  for (int64_t k = 0; k < K; ++k) {
    const double la = static_cast<double>(a[k]) - alse;
    pik[k] = exp(la);
    double acc = la;
    for (int64_t d = 0; d < D; ++d) {
      const double ls = static_cast<double>(log_scales[k * D + d]);
      const double z = (static_cast<double>(u[n * D + d]) - static_cast<double>(means[k * D + d])) * exp(-ls);
      acc += -0.5 * z * z - ls - kLogSqrt2Pi;
    }
    lp[k] = acc;
  }
  double m = -INFINITY;
  for (int64_t k = 0; k < K; ++k) {
    if (lik_isnan(lp[k])) return NAN;
    m = lp[k] > m ? lp[k] : m;
  }
  if (m == -INFINITY) return -INFINITY;
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += exp(lp[k] - m);
  return m + log(s);
}

template <class T>
void mog_fwd(const T* u,           // (N, D)
             const T* logits,      // (K) or (N, K)
             bool logits_rows,     // logits are (N, K)
             const T* means,       // (K, D)
             const T* log_scales,  // (K, D)
             T* ll,                // (N)
             int64_t N, int64_t K, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    double lp[kMogMaxK], pik[kMogMaxK];
    ll[n] = static_cast<T>(mog_row(u, logits, logits_rows, means, log_scales, n, K, D, lp, pik));
  }
}

// Partials: p_logits (tiles, K) when logits are (K); p_means, p_log_scales (tiles, K*D).
template <class T>
void mog_bwd(const T* u, const T* logits, bool logits_rows, const T* means, const T* log_scales,
             const T* dll,                                  // (N) or null
             T* du, T* dlogits, T* dmeans, T* dlog_scales,  // null where not wanted
             bool acc_u, bool acc_logits, bool acc_means, bool acc_log_scales,
             double* p_logits, double* p_means, double* p_log_scales, int64_t N, int64_t K, int64_t D) {
  const int64_t KD = K * D, R = lik_rows_per_tile(N, KD), tiles = lik_tiles(N, KD);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    double lp[kMogMaxK], pik[kMogMaxK];
    if (dmeans)
      for (int64_t i = 0; i < KD; ++i) p_means[t * KD + i] = 0;
    if (dlog_scales)
      for (int64_t i = 0; i < KD; ++i) p_log_scales[t * KD + i] = 0;
    if (dlogits && !logits_rows)
      for (int64_t k = 0; k < K; ++k) p_logits[t * K + k] = 0;
    const int64_t n1 = (t + 1) * R < N ? (t + 1) * R : N;
    for (int64_t n = t * R; n < n1; ++n) {
      if (!dll) {  // no incoming gradient: zero contributions
        if (du && !acc_u)
          for (int64_t d = 0; d < D; ++d) du[n * D + d] = T(0);
        if (dlogits && logits_rows && !acc_logits)
          for (int64_t k = 0; k < K; ++k) dlogits[n * K + k] = T(0);
        continue;
      }
      const double g = static_cast<double>(dll[n]);
      const double l = mog_row(u, logits, logits_rows, means, log_scales, n, K, D, lp, pik);
      for (int64_t k = 0; k < K; ++k) lp[k] = exp(lp[k] - l);  // responsibilities
      for (int64_t d = 0; d < D; ++d) {
        double su = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double ls = static_cast<double>(log_scales[k * D + d]), inv_s = exp(-ls);
          const double z = (static_cast<double>(u[n * D + d]) - static_cast<double>(means[k * D + d])) * inv_s;
          const double wk = g * lp[k];
          su -= wk * z * inv_s;
          if (dmeans) p_means[t * KD + k * D + d] += wk * z * inv_s;
          if (dlog_scales) p_log_scales[t * KD + k * D + d] += wk * (z * z - 1.0);
        }
        if (du) {
          T& dst = du[n * D + d];
          dst = static_cast<T>(acc_u ? static_cast<double>(dst) + su : su);
        }
      }
      if (dlogits)
        for (int64_t k = 0; k < K; ++k) {
          const double v = g * (lp[k] - pik[k]);
          if (logits_rows) {
            T& dst = dlogits[n * K + k];
            dst = static_cast<T>(acc_logits ? static_cast<double>(dst) + v : v);
          } else {
            p_logits[t * K + k] += v;
          }
        }
    }
  }
  if (dmeans) lik_reduce_partials<T>(p_means, dmeans, acc_means, kLikRow, tiles, KD);
  if (dlog_scales) lik_reduce_partials<T>(p_log_scales, dlog_scales, acc_log_scales, kLikRow, tiles, KD);
  if (dlogits && !logits_rows) lik_reduce_partials<T>(p_logits, dlogits, acc_logits, kLikRow, tiles, K);
}

}  // namespace cuvi::cpu
