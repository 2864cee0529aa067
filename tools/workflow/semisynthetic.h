// A semi-synthetic cohort with known truth, after the MrVI paper's protocol: the cells of a real data set
// are assigned at random to samples, half of them "case" and half "control"; in case samples one cell
// type gains a known expression change in a known set of genes (DE truth) and that cell type is depleted
// from control samples (abundance truth). Counts stay integer: Poisson re-draws scale genes up, binomial
// thinning scales them down.
#pragma once
#include <cstdint>
#include <string>

#include "tools/workflow/setup.h"

namespace cuvi::workflow {

struct CohortConfig {
  int64_t n_samples = 16;
  std::string affected_type;      // "" = the most frequent cell type
  double de_fraction = 0.05;      // genes changed (half up, half down)
  double lfc = 1.0;               // natural-log fold change of the changed genes in affected case cells
  double abundance_shift = 0.5;   // fraction of the affected type's cells dropped from control samples
  uint64_t seed = 0;
};

struct CohortSummary {
  std::string affected_type;
  int64_t n_cells = 0, n_de_genes = 0, n_affected_cells = 0;
};

// `real` must be registered with a labels key (the cell types). Writes an .h5ad whose obs hold the real
// obs columns plus donor, group (case/control), affected; var holds is_de and true_lfc; uns/cohort the
// parameters.
CohortSummary write_semisynthetic_cohort(const PreparedData& real, const CohortConfig& c, const std::string& path);

}  // namespace cuvi::workflow
