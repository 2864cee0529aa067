// MULTIVI model fit on a data file (scvi-multivi.md §2.4, §1.5 conventions): scvi-tools'
// get_reconstruction_error (one z sample, per modality, masked) and get_elbo (KL unweighted), per cell.
#pragma once
#include <cstdint>
#include <vector>

#include "tools/workflow/multivi_session.h"

namespace cuvi::workflow {

struct MultiviFit {
  // Per cell (R), in file order; reconstruction terms are 0 where the cell lacks the modality.
  std::vector<double> reconstruction_expression, reconstruction_accessibility, kl_z, kl_paired, elbo;
  double elbo_mean = 0, expression_mean = 0, accessibility_mean = 0;  // over every cell, as scvi-tools
};

MultiviFit evaluate_multivi_fit(MultiviSession& session, uint64_t seed);

}  // namespace cuvi::workflow
