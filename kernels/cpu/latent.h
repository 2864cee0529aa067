// CPU reference of the fused Gaussian latent middle (scvi Encoder heads + rsample + KL, scvi-multivi.md §1.3
// steps 3-4): qz_m = h W_m^T + b_m, qz_v = exp(h W_v^T + b_v) + var_eps, z = qz_m + sqrt(qz_v) eps (or qz_m),
// kl[n] = sum_l KL(N(qz_m, qz_v) || N(0, 1)). The noise is randn_like's Philox draw (element n * L + l).
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/common/likelihood.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/linear.h"

namespace cuvi::cpu {

struct LatentConfig {
  double var_eps = 1e-4;
  bool sample = true;    // false: z = qz_m (no noise drawn)
  uint32_t stream = 0;   // Philox stream of the noise
};

template <class T>
void normal_latent_fwd(const T* h,       // (N, H)
                       const T* wm,      // (L, H)
                       const T* bm,      // (L) or null
                       const T* wv,      // (L, H)
                       const T* bv,      // (L) or null
                       const T* eps_in,  // (N, L) injected noise, or null (Philox)
                       T* z, T* qm, T* qv,  // (N, L)
                       T* kl,               // (N)
                       T* eps,              // (N, L) noise used (saved for backward)
                       T* ev,               // (N, L) exp(raw variance head) (saved for backward)
                       const LatentConfig& c, uint64_t seed, uint32_t step, int64_t N, int64_t H, int64_t L) {
  linear_fwd<T>(h, wm, bm, nullptr, qm, N, H, 0, L, 0);
  linear_fwd<T>(h, wv, bv, nullptr, ev, N, H, 0, L, 0);
  for (int64_t n = 0; n < N; ++n) {
    double k = 0;
    for (int64_t l = 0; l < L; ++l) {
      const int64_t i = n * L + l;
      const double e = std::exp(double(ev[i]));
      ev[i] = static_cast<T>(e);
      qv[i] = static_cast<T>(e + c.var_eps);
      const T noise = c.sample ? (eps_in ? eps_in[i] : static_cast<T>(philox_normal(seed, step, c.stream, uint64_t(i))))
                               : T(0);
      eps[i] = noise;
      z[i] = c.sample ? static_cast<T>(double(qm[i]) + std::sqrt(double(qv[i])) * double(noise)) : qm[i];
      k += lik_eval(kLikKLNormal, double(qm[i]), double(qv[i]), 0.0, 1.0, 0.0, 0u).ll;
    }
    kl[n] = static_cast<T>(k);
  }
}

// Gradients from dz, dqm, dqv (N, L) and dkl (N), each possibly null, to h, the heads' weights and biases.
template <class T>
void normal_latent_bwd(const T* h, const T* wm, const T* wv, const T* qm, const T* qv, const T* eps, const T* ev,
                       const T* dz, const T* dqm, const T* dqv, const T* dkl,  // gradients of the outputs
                       T* dh, T* dwm, T* dbm, T* dwv, T* dbv, bool acc_h, bool acc_wm, bool acc_bm, bool acc_wv,
                       bool acc_bv, const LatentConfig& c, int64_t N, int64_t H, int64_t L) {
  std::vector<T> dm(size_t(N * L)), draw(size_t(N * L));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t l = 0; l < L; ++l) {
      const int64_t i = n * L + l;
      const double m = qm[i], v = qv[i];
      const LikOut o = lik_eval(kLikKLNormal, m, v, 0.0, 1.0, 0.0, 3u);
      const double gz = dz ? double(dz[i]) : 0.0, gk = dkl ? double(dkl[n]) : 0.0;
      const double gm = gz + (dqm ? double(dqm[i]) : 0.0) + gk * o.d[0];
      double gv = (dqv ? double(dqv[i]) : 0.0) + gk * o.d[1];
      if (c.sample) gv += gz * double(eps[i]) / (2.0 * std::sqrt(v));
      dm[size_t(i)] = static_cast<T>(gm);
      draw[size_t(i)] = static_cast<T>(gv * double(ev[i]));
    }
  linear_bwd<T>(h, wm, nullptr, dm.data(), dh, dwm, dbm, acc_h, acc_wm, acc_bm, N, H, 0, L, 0);
  linear_bwd<T>(h, wv, nullptr, draw.data(), dh, dwv, dbv, dh ? true : acc_h, acc_wv, acc_bv, N, H, 0, L, 0);
}

}  // namespace cuvi::cpu
