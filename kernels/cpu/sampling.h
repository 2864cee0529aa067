// CPU reference for the sampling family: reparameterised Normal draw, Philox noise and dropout masks,
// and the posterior-predictive samplers of kernels/common/sampling.h (spec scvi-multivi §1.3, §1.4).
// Every value depends only on (seed, step, stream, element): results do not depend on the thread count.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/common/likelihood.h"
#include "kernels/common/philox.h"
#include "kernels/common/sampling.h"
#include "kernels/cpu/philox_normal_fill.h"

namespace cuvi::cpu {

// z = m + sqrt(v) eps.
template <class T>
void normal_rsample_fwd(const T* m,    // (n)
                        const T* v,    // (n)
                        const T* eps,  // (n)
                        T* z,          // (n)
                        int64_t n) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i)
    z[i] = static_cast<T>(static_cast<double>(m[i]) + sqrt(static_cast<double>(v[i])) * static_cast<double>(eps[i]));
}

// dm = dz, dv = dz eps / (2 sqrt(v)); dz null: zero gradient.
template <class T>
void normal_rsample_bwd(const T* v, const T* eps,
                        const T* dz,  // (n) or null
                        T* dm, T* dv, bool acc_m, bool acc_v, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) {
    const double g = dz ? static_cast<double>(dz[i]) : 0.0;
    if (dm) dm[i] = static_cast<T>(acc_m ? static_cast<double>(dm[i]) + g : g);
    if (dv) {
      const double gv = dz ? g * static_cast<double>(eps[i]) / (2.0 * sqrt(static_cast<double>(v[i]))) : 0.0;
      dv[i] = static_cast<T>(acc_v ? static_cast<double>(dv[i]) + gv : gv);
    }
  }
}

// eps[e] = philox_normal(seed, step, stream, e); float through the vectorised fill (same values).
template <class T>
void randn_fill(uint64_t seed, uint32_t step, uint32_t stream,
                T* eps,  // (n)
                int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    philox_normal_fill_f32(seed, step, stream, eps, n);
  } else {
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t e = 0; e < n; ++e) eps[e] = static_cast<T>(philox_normal(seed, step, stream, static_cast<uint64_t>(e)));
  }
}

// mask[e] = 1/(1-p) where philox_keep, else 0 (inverted dropout).
template <class T>
void keep_mask_fill(uint64_t seed, uint32_t step, uint32_t stream, double p,
                    T* mask,  // (n)
                    int64_t n) {
  const T scale = static_cast<T>(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t e = 0; e < n; ++e)
    mask[e] = philox_keep(seed, step, stream, static_cast<uint64_t>(e), p) ? scale : T(0);
}

inline PhiloxSite sample_site(uint64_t seed, uint32_t step, uint32_t stream, int64_t e) {
  return PhiloxSite{seed, step, stream, static_cast<uint64_t>(e) * kDrawsPerElement};
}

template <class T>
void sample_poisson_fill(uint64_t seed, uint32_t step, uint32_t stream,
                         const T* rate,  // (n)
                         T* counts,      // (n)
                         int64_t n) {
#pragma omp parallel for schedule(dynamic, 1024)
  for (int64_t e = 0; e < n; ++e)
    counts[e] = static_cast<T>(sample_poisson(static_cast<double>(rate[e]), sample_site(seed, step, stream, e)));
}

// NB / ZINB draws over an (N, C) grid; theta broadcasts by theta_mode (LikBcast: full, row (C), scalar).
template <class T>
void sample_nb_fill(uint64_t seed, uint32_t step, uint32_t stream,
                    const T* mu,     // (N, C)
                    const T* theta,  // (N, C), (C) or (1)
                    int theta_mode,
                    const T* pi,     // (N, C) dropout logits, or null for NB
                    T* counts,       // (N, C)
                    int64_t N, int64_t C) {
  const int64_t n = N * C;
#pragma omp parallel for schedule(dynamic, 1024)
  for (int64_t e = 0; e < n; ++e) {
    const int64_t r = C > 0 ? e / C : 0;
    const double th = static_cast<double>(theta[lik_index(theta_mode, r, e - r * C, C)]);
    const PhiloxSite site = sample_site(seed, step, stream, e);
    const double m = static_cast<double>(mu[e]);
    counts[e] = static_cast<T>(pi ? sample_zinb(m, th, static_cast<double>(pi[e]), site) : sample_nb(m, th, site));
  }
}

}  // namespace cuvi::cpu
