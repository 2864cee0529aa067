// Posterior predictive sampling (scvi-multivi.md §1.4 "Sampling", scvi-tools'
// posterior_predictive_sample): z ~ q(z|x) per cell, then counts from the generative model.
#pragma once
#include <cstdint>
#include <vector>

#include "io/csr.h"
#include "tools/workflow/scvi_tasks.h"

namespace cuvi::workflow {

struct SampleOptions {
  int64_t n_samples = 1;     // posterior predictive draws per cell
  int64_t batch_size = 128;  // the session's minibatch
  uint64_t seed = 0;
};

// S count matrices (R, G), CSR with float32 integer values: NB as Gamma(theta, theta/mu) then
// Poisson (Gamma draw and rate clamped at 1e8), ZINB zeroed with probability sigmoid(pi), Poisson
// of px_rate; each draw s uses a fresh z (and library sample when the library is learned).
std::vector<io::CsrMatrix> posterior_predictive_sample(ScviSession& session, const SampleOptions& opt);

}  // namespace cuvi::workflow
