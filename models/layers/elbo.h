// The SCVI-family loss assembly as the models record it: op elbo_mean with KL_z warmed by the device kl_weight,
// its three outputs by name (spec scvi-multivi §1.4, §2.4; engine/ops/elbo_op.cpp).
#pragma once
#include <vector>

#include "engine/registry.h"
#include "models/layers/graph.h"

namespace cuvi::models {

// Per-cell terms: reconstruction_loss = -(mask log_lik + mask_2 log_lik_2); absent ones stay kNoTensor.
struct ElboTerms {
  TensorId log_lik = kNoTensor;    // (N)
  TensorId kl_z = kNoTensor;       // (N) times kl_weight in the loss
  TensorId kl_l = kNoTensor;       // (N) optional, not warmed
  TensorId mask = kNoTensor;       // (N) optional (all 1)
  TensorId log_lik_2 = kNoTensor;  // (N) optional second reconstruction term
  TensorId mask_2 = kNoTensor;     // (N) optional (all 1)
};

struct Elbo {
  TensorId loss = kNoTensor;                 // (1) mean(reconstruction_loss + kl_weight KL_z + KL_l)
  TensorId reconstruction_loss = kNoTensor;  // (N)
  TensorId kl_local = kNoTensor;             // (N) KL_z + KL_l, unweighted
};

inline Elbo elbo_mean(const Graph& g, const ElboTerms& t) {
  OpParams warm;
  warm.f[0] = 1.0;
  warm.i[0] = 1;  // KL_z times the device kl_weight
  const std::vector<TensorId> v =
      g.tape.apply(op("elbo_mean"), {t.log_lik, t.kl_z, t.kl_l, t.mask, t.log_lik_2, t.mask_2}, warm);
  return {v[0], v[1], v[2]};
}

}  // namespace cuvi::models
