// CPU reference of the ELBO assembly (op elbo_mean, spec scvi-multivi §1.4, §2.4): per cell reconstruction_loss =
// -(m1 log p1 + m2 log p2) (masks and the second term optional: a second modality), kl_local = KL_z + KL_l, and
// loss = mean(reconstruction_loss + kl_weight KL_z + KL_l), in double.
#pragma once
#include <cstdint>

namespace cuvi::cpu {

// The per-cell reconstruction inputs: log_lik (and log_lik_2), each times its mask when one is given.
template <class T>
struct ElboRec {
  const T* log_lik = nullptr;    // (N)
  const T* mask = nullptr;       // (N) or null (all 1)
  const T* log_lik_2 = nullptr;  // (N) or null (absent)
  const T* mask_2 = nullptr;     // (N) or null (all 1)
  double rec(int64_t n) const {
    double r = -static_cast<double>(log_lik[n]) * (mask ? static_cast<double>(mask[n]) : 1.0);
    if (log_lik_2) r -= static_cast<double>(log_lik_2[n]) * (mask_2 ? static_cast<double>(mask_2[n]) : 1.0);
    return r;
  }
};

template <class T>
void elbo_mean_fwd(const ElboRec<T>& in,
                   const T* kl_z,  // (N)
                   const T* kl_l,  // (N) or null
                   double kl_weight,
                   T* loss,      // (1)
                   T* rec,       // (N) reconstruction_loss
                   T* kl_local,  // (N)
                   int64_t N) {
  double s = 0;
  for (int64_t n = 0; n < N; ++n) {
    const double r = in.rec(n), kz = static_cast<double>(kl_z[n]);
    const double kl = kl_l ? static_cast<double>(kl_l[n]) : 0.0;
    rec[n] = static_cast<T>(r);
    kl_local[n] = static_cast<T>(kz + kl);
    s += r + kl_weight * kz + kl;
  }
  loss[0] = static_cast<T>(s / static_cast<double>(N));
}

// With g = dloss / N: d log_lik = -(g + d rec) mask, d log_lik_2 = -(g + d rec) mask_2, d KL_z = kl_weight g +
// d kl_local, d KL_l = g + d kl_local (absent output gradients count as zero; a null d_* needs no gradient; the
// masks take none).
template <class T>
void elbo_mean_bwd(const T* dloss,      // (1) or null
                   const T* drec,       // (N) or null
                   const T* dkl_local,  // (N) or null
                   const T* mask,       // (N) or null
                   const T* mask_2,     // (N) or null
                   double kl_weight,
                   T* d_log_lik, T* d_kl_z, T* d_kl_l, T* d_log_lik_2,  // (N) each, or null
                   bool acc_log_lik, bool acc_kl_z, bool acc_kl_l, bool acc_log_lik_2, int64_t N) {
  const double g = dloss ? static_cast<double>(dloss[0]) / static_cast<double>(N) : 0.0;
  auto put = [](T* dst, bool accumulate, double v) {
    *dst = static_cast<T>(accumulate ? static_cast<double>(*dst) + v : v);
  };
  for (int64_t n = 0; n < N; ++n) {
    const double r = drec ? static_cast<double>(drec[n]) : 0.0;
    const double k = dkl_local ? static_cast<double>(dkl_local[n]) : 0.0;
    if (d_log_lik) put(d_log_lik + n, acc_log_lik, -(g + r) * (mask ? static_cast<double>(mask[n]) : 1.0));
    if (d_log_lik_2) put(d_log_lik_2 + n, acc_log_lik_2, -(g + r) * (mask_2 ? static_cast<double>(mask_2[n]) : 1.0));
    if (d_kl_z) put(d_kl_z + n, acc_kl_z, kl_weight * g + k);
    if (d_kl_l) put(d_kl_l + n, acc_kl_l, g + k);
  }
}

}  // namespace cuvi::cpu
