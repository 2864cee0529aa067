// Synthetic single-cell data with known truth (the README demo's default and the quality tests'
// ground truth): cell types with marker genes, batches with gene-wise batch effects and library
// shifts, donors with sample-level covariates, a two-condition design with differentially
// expressed genes, NB counts with realistic library sizes, and an optional ATAC peak modality.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/csr.h"
#include "io/dataframe.h"

namespace cuvi::workflow {

struct SimulationConfig {
  int64_t n_cells = 3000;
  int64_t n_genes = 1000;
  int64_t n_cell_types = 5;
  int64_t n_batches = 2;
  int64_t n_donors = 8;             // each donor belongs to one batch and one condition
  double marker_fraction = 0.04;    // genes up in each cell type
  double marker_lfc = 1.8;          // natural-log fold change of markers
  double de_fraction = 0.05;        // genes changed between conditions
  double de_lfc = 1.2;              // natural-log fold change of DE genes (+/-)
  double batch_effect = 0.35;       // sd of per-batch, per-gene log fold changes
  double batch_library_shift = 0.4;  // sd of per-batch log library shifts
  double donor_effect = 0.1;        // sd of per-donor, per-gene log fold changes
  double library_median = 1500;     // UMIs per cell
  double library_sd = 0.35;         // sd of log library within a batch
  double theta_median = 3.0;        // NB inverse dispersion, log-normal over genes
  int64_t n_peaks = 0;              // ATAC peaks (0: no ATAC modality)
  uint64_t seed = 0;
};

struct SimulatedData {
  io::CsrMatrix counts;  // cells x genes
  io::DataFrame obs;     // cell_type, batch, donor, condition, sex, age, true_library
  io::DataFrame var;     // marker_of, is_de, de_log2fc, base_log_expression, theta
  io::CsrMatrix atac;    // (cells, n_peaks) accessibility counts, sparse (no rows without peaks)
  std::vector<std::string> peak_names;
  std::vector<std::string> peak_cell_type;  // cell type whose peaks open ("" = shared)
};

SimulatedData simulate(const SimulationConfig& c);
// Writes the data set, its truth and the parameters (uns["simulation"]) as an .h5ad: peaks as dense
// obsm['atac'], or with `multiome` as MULTIVI's .h5ad layout (X = genes then peaks, sparse, with
// var['feature_types'] Gene Expression / Peaks; the gene truth columns are empty for peaks).
void write_simulation(const SimulatedData& d, const SimulationConfig& c, const std::string& path, bool multiome = false);

}  // namespace cuvi::workflow
