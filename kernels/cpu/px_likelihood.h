// CPU reference of the fused likelihood tail px_log_prob (spec scvi-multivi §1.3 step 5, §1.4):
// px_scale = softmax(px logits + b_logits), px_rate = exp(library) px_scale, theta = exp(px_r), NB / ZINB
// log-prob per row (dropout logits pi + b_pi) and every gradient of it, computed in the forward. The optional
// per-gene biases are the decoder heads' biases, added here instead of in a separate pass over (N, G). Element math: the vectorized NB/ZINB of
// kernels/cpu/likelihood.h (double inside).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu/likelihood.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/vmath.h"

namespace cuvi::cpu {

// Forward: ll[n] and the per-element gradients of ll[n] the backward scales:
//   g_logits = d ll/d logits = a - px_scale * A with a = px_rate d ll/d px_rate, A = sum_j a_j
//   g_log_theta = theta d ll/d theta, g_pi = d ll/d pi (ZINB), g_library = d ll/d library = A.
// The whole batch goes through the row-parallel NB/ZINB of likelihood.h at once: px_rate and theta are
// staged in g_logits and g_log_theta (also in value-only mode, want_grad = false), d/dpx_rate and
// d/dtheta in a scratch buffer of the calling thread, then combined in place.
template <class T>
void px_log_prob_fwd(const T* x,        // (N, G) counts
                     const T* logits,   // (N, G) px_scale logits
                     const T* library,  // (N) log library
                     const T* px_r,     // (N, G) or (G) log theta
                     bool r_full,
                     const T* pi,        // (N, G) dropout logits, null for NB
                     const T* b_logits,  // (G) or null
                     const T* b_pi,      // (G) or null (only with pi)
                     double eps,
                     bool want_grad,  // false: ll only (evaluation)
                     T* ll,           // (N)
                     T* g_logits,     // (N, G)
                     T* g_log_theta,  // (N, G)
                     T* g_pi,         // (N, G), unused for NB
                     T* g_library,    // (N)
                     int64_t N, int64_t G) {
  const int kind = pi ? kLikZINB : kLikNB;
  T* mu = g_logits;     // staged px_rate
  T* th = g_log_theta;  // staged theta
  // Per row: 1 / exp(library) (px_scale = px_rate / exp(library) in the Jacobian fix-up below).
  // (thread_local of the calling thread: the parallel loops below see it through plain pointers)
  // theta of shape (G) is one row for every cell: its exp is taken once.
  thread_local std::vector<double> row_stats;
  row_stats.resize(N + (r_full ? 0 : G));
  double *inv_lib = row_stats.data(), *theta_row = inv_lib + N;
  if (!r_full)
    for (int64_t j = 0; j < G; ++j) theta_row[j] = vm_exp(static_cast<double>(px_r[j]));
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const T* lr = logits + n * G;
    T* mr = mu + n * G;
    // The logits (plus the head's bias, rounded to T as a linear layer's output is) staged in mr; the max, the
    // sum of exponentials in 8 fixed lanes and the scaling pass all vectorise (vm_exp is branch-free).
    if (b_logits)
      for (int64_t j = 0; j < G; ++j)
        mr[j] = static_cast<T>(static_cast<double>(lr[j]) + static_cast<double>(b_logits[j]));
    else
      for (int64_t j = 0; j < G; ++j) mr[j] = lr[j];
    const double m = row_max(mr, G);
    const double S = row_exp_sum(mr, m, G);
    const double lib = std::exp(static_cast<double>(library[n])), f = lib / S;
    inv_lib[n] = 1.0 / lib;
    for (int64_t j = 0; j < G; ++j) mr[j] = static_cast<T>(vm_exp(static_cast<double>(mr[j]) - m) * f);
    T* tr = th + n * G;
    if (r_full)
      for (int64_t j = 0; j < G; ++j) tr[j] = static_cast<T>(vm_exp(static_cast<double>(px_r[n * G + j])));
    else
      for (int64_t j = 0; j < G; ++j) tr[j] = static_cast<T>(theta_row[j]);
  }
  // Dropout logits plus their bias, staged once for the element kernels (the gradient is the same for both).
  thread_local std::vector<T> pi_biased;
  if (pi && b_pi) {
    pi_biased.resize(N * G);
    T* pb = pi_biased.data();  // the calling thread's buffer, through a plain pointer
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < G; ++j)
        pb[n * G + j] = static_cast<T>(static_cast<double>(pi[n * G + j]) + static_cast<double>(b_pi[j]));
    pi = pb;
  }
  const LikInputs<T> in{{x, mu, th, pi}, {kLikFull, kLikFull, kLikFull, pi ? kLikFull : kLikAbsent}, {0, 0, 0, 0}};
  lik_rows_fwd<T>(kind, in, eps, ll, N, G);
  if (!want_grad) return;
  thread_local std::vector<T> scratch;
  scratch.resize(2 * N * G + N);
  T *dmu = scratch.data(), *dth = dmu + N * G, *ones = dth + N * G;
  for (int64_t n = 0; n < N; ++n) ones[n] = 1;
  const LikGrads<T> g{{nullptr, dmu, dth, pi ? g_pi : nullptr}, {false, false, false, false}, {nullptr, nullptr, nullptr, nullptr}};
  lik_rows_bwd<T>(kind, in, eps, ones, g, N, G);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const int64_t r = n * G;
    const double A = row_dot(mu + r, dmu + r, G);
    for (int64_t j = 0; j < G; ++j) {
      const double scale = static_cast<double>(mu[r + j]) * inv_lib[n];
      g_logits[r + j] = static_cast<T>(static_cast<double>(mu[r + j]) * static_cast<double>(dmu[r + j]) - scale * A);
      g_log_theta[r + j] = static_cast<T>(static_cast<double>(th[r + j]) * static_cast<double>(dth[r + j]));
    }
    g_library[n] = static_cast<T>(A);
  }
}

// Backward: d_in (+)= dll[n] * the saved gradients; px_r of shape (G) and the biases sum over rows in order
// (double). dll null: zero gradients. A null d_* needs no gradient.
template <class T>
void px_log_prob_bwd(const T* dll,  // (N) or null
                     const T* g_logits, const T* g_log_theta, const T* g_pi, const T* g_library, bool r_full,
                     T* d_logits, T* d_library, T* d_px_r, T* d_pi,  // (N,G), (N), (N,G) or (G), (N,G)
                     T* d_b_logits, T* d_b_pi,                       // (G) or null
                     bool acc_logits, bool acc_library, bool acc_r, bool acc_pi, bool acc_b_logits, bool acc_b_pi,
                     int64_t N, int64_t G) {
  auto put = [](T* dst, bool accumulate, double v) {
    *dst = static_cast<T>(accumulate ? static_cast<double>(*dst) + v : v);
  };
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const double w = dll ? static_cast<double>(dll[n]) : 0.0;
    auto scaled = [&](const T* g, int64_t k) { return dll ? w * static_cast<double>(g[k]) : 0.0; };
    if (d_library) put(d_library + n, acc_library, scaled(g_library, n));
    for (int64_t j = 0; j < G; ++j) {
      const int64_t k = n * G + j;
      if (d_logits) put(d_logits + k, acc_logits, scaled(g_logits, k));
      if (d_pi) put(d_pi + k, acc_pi, scaled(g_pi, k));
      if (d_px_r && r_full) put(d_px_r + k, acc_r, scaled(g_log_theta, k));
    }
  }
  // Per-gene sums over rows, (G)-shaped px_r and the two biases: sum_cols with dll as the row weight (rows in
  // order per gene); no dll: zero gradients.
  auto column_sum = [&](const T* g, T* dst, bool accumulate) {
    if (dll)
      sum_cols<T>(g, nullptr, dst, 1.0, accumulate, N, G, dll);
    else if (!accumulate)
      std::fill(dst, dst + G, T(0));
  };
  if (d_px_r && !r_full) column_sum(g_log_theta, d_px_r, acc_r);
  if (d_b_logits) column_sum(g_logits, d_b_logits, acc_b_logits);
  if (d_b_pi) column_sum(g_pi, d_b_pi, acc_b_pi);
}

}  // namespace cuvi::cpu
