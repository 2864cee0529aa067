// MRVI differential abundance and outlier cell-sample pairs (spec/mrvi.md §5 differential_abundance,
// get_outlier_cell_sample_pairs) from the aggregated posteriors of u, in blocks of cells (no N x N array)
// and written as netCDF with scvi-tools' variable names. Samples are the registered samples present in
// the data, in registered order (scvi-tools uses order of appearance here and registered order
// elsewhere; cuvi uses one order everywhere).
#pragma once
#include <string>
#include <vector>

#include "io/netcdf_writer.h"
#include "tools/workflow/mrvi_posterior.h"
#include "tools/workflow/sample_info.h"

namespace cuvi::workflow {

struct DaOptions {
  std::vector<std::string> sample_cov_keys;
  std::vector<std::string> sample_subset;  // sample names restricting each covariate group (empty: all)
  bool compute_log_enrichment = false;
  bool omit_original_sample = true;
};

// Writes log_probs (cell_name, sample) and, per key, {key}_log_probs and {key}_log_enrichs
// (cell_name, key). Warnings (non-discrete keys, skipped enrichments) go to *warnings.
void differential_abundance(MrviSession& session, const PreparedData& data, const DaOptions& opt,
                            io::NetcdfWriter& out, std::vector<std::string>* warnings);

struct OutlierOptions {
  int64_t subsample_size = 5000;  // cells per sample used as components (seeded draw without replacement)
  double quantile_threshold = 0.05;
  double admissibility_threshold = 0.0;
  uint64_t seed = 0;
};

struct OutlierResult {
  std::vector<int32_t> samples;  // sample codes of the columns (present samples, registered order)
  int64_t n_cells = 0;
  std::vector<float> log_probs, log_ratios;  // (N, S')
  std::vector<uint8_t> admissible;           // (N, S')
  double threshold = 0;
};

// The "ball" rule: lp[n, s] = max over sample s's subsampled cells i of log N(u_n; mu_i, sigma_i);
// threshold = linear quantile of the within-sample maxima over j != i.
OutlierResult outlier_cell_sample_pairs(MrviSession& session, const PreparedData& data, const OutlierOptions& opt);
void write_outliers(const OutlierResult& r, const PreparedData& data, io::NetcdfWriter& out);

}  // namespace cuvi::workflow
