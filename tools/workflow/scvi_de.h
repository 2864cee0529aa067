// Differential expression with a trained SCVI model, scvi-tools' differential_expression
// (scvi-multivi.md §3): groups from an obs column, one-vs-rest or against a second group, vanilla
// or change mode, the same columns, row order and raw-count statistics as scvi-tools.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/workflow/result_table.h"
#include "tools/workflow/scvi_inference.h"

namespace cuvi::workflow {

struct DeOptions {
  std::string groupby;              // obs column
  std::vector<std::string> group1;  // empty: every category with cells (except group2)
  std::string group2;               // empty: the rest of the cells
  std::string mode = "vanilla";     // vanilla | change (SCVI's default is vanilla)
  // Change mode: |LFC| threshold (SCVI's default 0.25); absent: estimated per comparison from the
  // genes' mean LFCs (scvi-tools' delta=None, estimate_delta).
  std::optional<double> delta = 0.25;
  double fdr_target = 0.05;
  bool batch_correction = false;    // decode every group in every batch category
  std::optional<double> pseudocounts;  // change mode; absent: estimated from non-expressed genes
  double threshold_counts = 0.01;   // mean count below which a gene counts as non-expressed
  std::string test_mode = "three";  // three: proba_de = max of the tails; two: their sum
  int64_t n_samples_overall = 5000;
  uint64_t seed = 0;
  int64_t batch_size = 128;         // minibatch of the forward passes (the session's)
};

// Per comparison, what the table does not show: group sizes and the per-gene spread of the scale
// samples (for Monte-Carlo error bars).
struct DeComparison {
  std::string group1, group2;
  int64_t n_cells1 = 0, n_cells2 = 0, n_samples = 0;
  double pseudocounts = 0;
  std::vector<double> scale1_sd, scale2_sd;  // (G) population sd of the samples
};

struct DeResult {
  ResultTable table;                 // scvi's columns; index = gene names
  std::vector<DeComparison> comparisons;
  int64_t n_scale_evaluations = 0;   // distinct (cell, sample, batch) forward rows
  std::vector<std::string> notes;    // choices made for the caller (skipped empty categories)
};

DeResult differential_expression(ScviInference& inf, const DeOptions& opt);

// scvi's column names, in order, for a mode (the table columns after the gene index).
std::vector<std::string> de_column_names(const std::string& mode, double fdr_target, bool with_groups = true);

}  // namespace cuvi::workflow
