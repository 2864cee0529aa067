// CPU reference of the fused likelihood tail px_log_prob (spec scvi-multivi §1.3 step 5, §1.4):
// px_scale = softmax(px logits), px_rate = exp(library) px_scale, theta = exp(px_r), NB / ZINB log-prob per
// row and every gradient of it, computed in the forward. Element math: the vectorized NB/ZINB of
// kernels/cpu/likelihood.h (double inside), one row at a time.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu/likelihood.h"

namespace cuvi::cpu {

// Forward: ll[n] and the per-element gradients of ll[n] the backward scales:
//   g_logits = d ll/d logits = a - px_scale * A with a = px_rate d ll/d px_rate, A = sum_j a_j
//   g_log_theta = theta d ll/d theta, g_pi = d ll/d pi (ZINB), g_library = d ll/d library = A.
template <class T>
void px_log_prob_fwd(const T* x,        // (N, G) counts
                     const T* logits,   // (N, G) px_scale logits
                     const T* library,  // (N) log library
                     const T* px_r,     // (N, G) or (G) log theta
                     bool r_full,
                     const T* pi,  // (N, G) dropout logits, null for NB
                     double eps,
                     T* ll,           // (N)
                     T* g_logits,     // (N, G)
                     T* g_log_theta,  // (N, G)
                     T* g_pi,         // (N, G), unused for NB
                     T* g_library,    // (N)
                     int64_t N, int64_t G) {
  const int kind = pi ? kLikZINB : kLikNB;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    thread_local std::vector<T> buf;
    thread_local std::vector<double> scale;
    buf.resize(5 * G);
    scale.resize(G);
    T *mu = buf.data(), *th = mu + G, *dmu = th + G, *dth = dmu + G, *dpi = dth + G;
    const T* lr = logits + n * G;
    double m = -INFINITY;
    bool nan = false;
    for (int64_t j = 0; j < G; ++j) {
      const double v = static_cast<double>(lr[j]);
      nan = nan || v != v;
      m = v > m ? v : m;
    }
    if (nan) m = NAN;
    double S = 0;
    for (int64_t j = 0; j < G; ++j) S += std::exp(static_cast<double>(lr[j]) - m);
    const double lib = std::exp(static_cast<double>(library[n]));
    for (int64_t j = 0; j < G; ++j) {
      scale[j] = std::exp(static_cast<double>(lr[j]) - m) / S;
      mu[j] = static_cast<T>(scale[j] * lib);
      th[j] = static_cast<T>(std::exp(static_cast<double>(px_r[r_full ? n * G + j : j])));
    }
    LikInputs<T> in{{x + n * G, mu, th, pi ? pi + n * G : nullptr},
                    {kLikFull, kLikFull, kLikFull, pi ? kLikFull : kLikAbsent},
                    {0, 0, 0, 0}};
    lik_rows_fwd<T>(kind, in, eps, ll + n, 1, G);
    LikGrads<T> g{{nullptr, dmu, dth, pi ? dpi : nullptr}, {false, false, false, false}, {nullptr, nullptr, nullptr, nullptr}};
    const T one = 1;
    lik_rows_bwd<T>(kind, in, eps, &one, g, 1, G);
    double A = 0;
    for (int64_t j = 0; j < G; ++j) A += static_cast<double>(mu[j]) * static_cast<double>(dmu[j]);
    T* gl = g_logits + n * G;
    T* gt = g_log_theta + n * G;
    for (int64_t j = 0; j < G; ++j) {
      gl[j] = static_cast<T>(static_cast<double>(mu[j]) * static_cast<double>(dmu[j]) - scale[j] * A);
      gt[j] = static_cast<T>(static_cast<double>(th[j]) * static_cast<double>(dth[j]));
      if (pi) g_pi[n * G + j] = dpi[j];
    }
    g_library[n] = static_cast<T>(A);
  }
}

// Backward: d_in (+)= dll[n] * the saved gradients; px_r of shape (G) sums over rows in order (double).
// dll null: zero gradients. A null d_* needs no gradient.
template <class T>
void px_log_prob_bwd(const T* dll,  // (N) or null
                     const T* g_logits, const T* g_log_theta, const T* g_pi, const T* g_library, bool r_full,
                     T* d_logits, T* d_library, T* d_px_r, T* d_pi,  // (N,G), (N), (N,G) or (G), (N,G)
                     bool acc_logits, bool acc_library, bool acc_r, bool acc_pi, int64_t N, int64_t G) {
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
  if (d_px_r && !r_full) {
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < G; ++j) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) s += dll ? static_cast<double>(dll[n]) * static_cast<double>(g_log_theta[n * G + j]) : 0.0;
      put(d_px_r + j, acc_r, s);
    }
  }
}

}  // namespace cuvi::cpu
