// CPU reference of the fused FC layer (scvi FCLayers, scvi-multivi.md §1.2): the Linear, norm and dropout
// references composed, so the fused op computes exactly what the unfused ops compute one after another.
#pragma once
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/common/fc_layer.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/norm.h"

namespace cuvi::cpu {

// pre = x W^T + b + covariates; z = norm(pre); y = act(z) * keep. keep comes from keep_in (injected
// multipliers) or, when cfg.p_drop > 0, from Philox (the keep_mask_like draws); it is saved in `keep` for
// backward. stats: BatchNorm mean and rstd per feature (2, M); LayerNorm per row (2, N).
template <class T>
void fc_layer_fwd(const T* x,             // (N, K)
                  const T* w,             // (M, K + C)
                  const T* b,             // (M) or null
                  const int32_t* codes,   // (N, J) or null
                  const T* gamma,         // (M) or null
                  const T* beta,          // (M) or null
                  T* running_mean,        // (M), BatchNorm only
                  T* running_var,         // (M), BatchNorm only
                  const T* keep_in,       // (N, M) or null
                  T* y,                   // (N, M)
                  T* pre,                 // (N, M)
                  T* stats,               // (2, M) batch norm, (2, N) layer norm, else null
                  T* keep,                // (N, M) when dropout is on, else null
                  const FcConfig& c, uint64_t seed, uint32_t step, int64_t N, int64_t K, int64_t C, int64_t M,
                  int64_t J) {
  linear_fwd<T>(x, w, b, codes, pre, N, K, C, M, J);
  if (c.norm == kFcNormBatch)
    batchnorm_fwd<T>(pre, gamma, beta, running_mean, running_var, y, stats, stats + M, c.training, c.momentum,
                     c.eps, N, M);
  else if (c.norm == kFcNormLayer)
    layernorm_fwd<T>(pre, gamma, beta, nullptr, y, stats, stats + N, c.eps, N, M);
  else
    std::memcpy(y, pre, size_t(N * M) * sizeof(T));
  const T scale = static_cast<T>(1.0 / (1.0 - c.p_drop));
  const T slope = static_cast<T>(c.slope);
#pragma omp parallel for schedule(static) if (N * M > 32768)
  for (int64_t e = 0; e < N * M; ++e) {
    T v = fc_act(c.act, y[e], slope);
    if (keep) {
      const T k = keep_in ? keep_in[e] : (philox_keep(seed, step, c.stream, uint64_t(e), c.p_drop) ? scale : T(0));
      keep[e] = k;
      v *= k;
    }
    y[e] = v;
  }
}

// Backward from dy (N, M): dz = dy keep act'(z); dpre = norm backward of dz (into `dpre`, scratch (N, M));
// then the Linear backward. Any of dx, dw, db, dgamma, dbeta may be null; acc_*: add instead of overwrite.
template <class T>
void fc_layer_bwd(const T* x, const T* w, const int32_t* codes, const T* gamma, const T* y, const T* pre,
                  const T* stats, const T* keep,  // as saved by fc_layer_fwd
                  const T* dy,                    // (N, M)
                  T* dpre,                        // (N, M) scratch
                  T* dx, T* dw, T* db, T* dgamma, T* dbeta, bool acc_x, bool acc_w, bool acc_b, bool acc_gamma,
                  bool acc_beta, const FcConfig& c, int64_t N, int64_t K, int64_t C, int64_t M, int64_t J) {
  std::vector<T> dz(static_cast<size_t>(N * M));
  const T slope = static_cast<T>(c.slope);
  for (int64_t e = 0; e < N * M; ++e) {
    T g = dy[e];
    if (keep) g *= keep[e];
    dz[size_t(e)] = g * fc_act_grad<T>(c.act, y[e], slope);
  }
  if (c.norm == kFcNormBatch)
    batchnorm_bwd<T>(pre, gamma, stats, stats + M, dz.data(), dpre, dgamma, dbeta, false, acc_gamma, acc_beta,
                     c.training, N, M);
  else if (c.norm == kFcNormLayer)
    layernorm_bwd<T>(pre, gamma, nullptr, stats, stats + N, dz.data(), dpre, dgamma, dbeta, false, acc_gamma,
                     acc_beta, N, M, 1);
  else
    std::memcpy(dpre, dz.data(), dz.size() * sizeof(T));
  // Under training BatchNorm the bias only shifts the batch mean it removes: its gradient, the column sum of dpre
  // = k (sum dz - sdy - sdyx sum xhat / N), is exactly zero (sum xhat = 0), so it is written as 0, not as rounding.
  const bool bias_cancels = c.norm == kFcNormBatch && c.training;
  linear_bwd<T>(x, w, codes, dpre, dx, dw, bias_cancels ? nullptr : db, acc_x, acc_w, acc_b, N, K, C, M, J);
  if (bias_cancels && db && !acc_b) std::fill(db, db + M, T(0));
}

}  // namespace cuvi::cpu
