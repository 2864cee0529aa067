// MRVI differential expression by counterfactual regression (spec/mrvi.md §5 differential_expression):
// per cell, the sample effects eps(u, s) of every kept sample are standardised over samples and regressed
// on the sample design matrix (X^T D_n X + lambda I); effect sizes, chi-squared p-values with one degree
// of freedom per admissible sample, Benjamini-Hochberg, betas, and on request log fold changes decoded
// per batch. Streamed per minibatch into netCDF with scvi-tools' variable names.
#pragma once
#include <string>
#include <vector>

#include "io/netcdf_writer.h"
#include "tools/workflow/mrvi_abundance.h"

namespace cuvi::workflow {

struct DesignMatrix {
  std::vector<int32_t> samples;     // kept sample codes S' (registered order)
  std::vector<std::string> names;   // k columns: [offset_batch_i...] then {key}_{level} / {key}
  std::vector<double> x;            // (S', k)
  std::vector<int> key_of_column;   // index into the keys, -1 for a batch offset column
  std::vector<int64_t> offset_columns;  // columns of the batch offsets, in batch order (empty: none)
};

// scvi-tools' _construct_design_matrix over the kept samples: categorical (and string) covariates one-hot
// with the first used level dropped, numbers as they are; min-max scaling in float32 when `normalize`;
// batch offsets prepended when every batch is among the kept samples (otherwise a warning).
DesignMatrix design_matrix(const PreparedData& data, const std::vector<std::string>& keys,
                           const std::vector<std::string>& sample_subset, bool normalize, bool batch_offsets,
                           std::vector<std::string>* warnings);

struct MrviDeOptions {
  std::vector<std::string> sample_cov_keys;
  std::vector<std::string> sample_subset;
  bool normalize_design_matrix = true;
  bool add_batch_specific_offsets = false;
  int64_t mc_samples = 50;
  bool store_lfc = false;
  std::vector<std::string> store_lfc_metadata_subset;  // keys whose columns get LFCs (empty: all)
  double eps_lfc = 1e-4;
  bool filter_inadmissible_samples = false;
  OutlierOptions outliers;  // for filter_inadmissible_samples
  double lambd = 0.0;
  double delta = 0.3;        // NaN: no lfc_std and pde
  int64_t max_rows = 4096;   // rows of one counterfactual or decoder pass
  uint64_t seed = 0;
};

void differential_expression(MrviSession& session, const PreparedData& data, const MrviDeOptions& opt,
                             io::NetcdfWriter& out, std::vector<std::string>* warnings);

}  // namespace cuvi::workflow
