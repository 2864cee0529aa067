// Model fit of a trained SCVI on a data file (scvi-multivi.md §1.5): ELBO and reconstruction error
// as scvi-tools' get_elbo / get_reconstruction_error, marginal log-likelihood by importance
// sampling as get_marginal_ll; per cell and aggregated.
#pragma once
#include <cstdint>
#include <vector>

#include "tools/workflow/scvi_tasks.h"

namespace cuvi::workflow {

struct FitOptions {
  int64_t n_mc_samples = 1000;  // marginal LL importance samples per cell (0: skip it)
  int64_t batch_size = 128;     // the session's minibatch; also the grouping of scvi's return_mean
  uint64_t seed = 0;
};

struct FitResult {
  // Per cell (R), in file order.
  std::vector<double> elbo;                 // log p(x|z,l) - KL_z - KL_l, one z sample (negative)
  std::vector<double> reconstruction_loss;  // -log p(x|z,l), same z sample
  std::vector<double> marginal_ll;          // empty when n_mc_samples = 0; its first importance
                                            // sample is the z (and l) of elbo
  // Aggregates: get_elbo and get_reconstruction_error average over cells; get_marginal_ll's
  // return_mean averages the per-minibatch means (sequential minibatches of batch_size).
  double elbo_mean = 0, reconstruction_loss_mean = 0;
  double marginal_ll_batch_mean = 0, marginal_ll_cell_mean = 0;
};

FitResult evaluate_fit(ScviSession& session, const FitOptions& opt);

}  // namespace cuvi::workflow
