// The one differential-analysis driver of every model (scvi-multivi.md §3, §2.7): groups and
// comparisons, one scale draw per distinct group shared by all comparisons, statistics per comparison
// and scvi-tools' table. A model supplies only its scale function, its draw scheme and which raw
// statistics describe its features (counts of genes, or accessibility of regions).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/workflow/de_stats.h"
#include "tools/workflow/result_table.h"
#include "tools/workflow/scale_bank.h"
#include "tools/workflow/setup.h"

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

// Per comparison, what the table does not show: group sizes and the per-feature spread of the scale
// samples (for Monte-Carlo error bars).
struct DeComparison {
  std::string group1, group2;
  int64_t n_cells1 = 0, n_cells2 = 0, n_samples = 0;
  double pseudocounts = 0;
  std::vector<double> scale1_sd, scale2_sd;  // (F) population sd of the samples
};

struct DeResult {
  ResultTable table;                 // scvi's columns; index = feature names
  std::vector<DeComparison> comparisons;
  int64_t n_scale_evaluations = 0;   // distinct (cell, sample, batch) forward rows
  std::vector<std::string> notes;    // choices made for the caller (skipped empty categories)
};

// Raw statistics of the features: scvi-tools' scrna_raw_counts_properties (raw_mean, non-zero
// proportion, normalized mean) or scatac_raw_counts_properties (emp_mean: fraction of cells > 0).
enum class RawStatsKind { Expression, Accessibility };

// One model's side of a differential analysis.
struct DeTask {
  ScaleModel* model = nullptr;
  DrawScheme scheme = DrawScheme::PosteriorPairs;
  const PreparedData* data = nullptr;  // counts (features = columns `cols`), obs, path
  ColumnRange cols;
  std::vector<std::string> features;   // names of the columns, the table's index
  int64_t n_batch = 1;                 // batch categories decoded with batch correction
  RawStatsKind stats = RawStatsKind::Expression;
};

DeResult run_differential(DeTask& task, const DeOptions& opt);

// scvi's column names, in order, for a mode (the table columns after the feature index).
std::vector<std::string> de_column_names(const std::string& mode, double fdr_target, bool with_groups = true,
                                         RawStatsKind stats = RawStatsKind::Expression);

// MULTIVI's differential_accessibility table from the driver's result of one comparison: prob_da,
// is_da_fdr, bayes_factor, effect_size, emp_effect, est_prob1/2, emp_prob1/2, rows in region order
// (scvi-tools builds the frame on the region index, undoing the sort).
ResultTable accessibility_table(const DeResult& r, const DeOptions& opt, const std::vector<std::string>& regions);

}  // namespace cuvi::workflow
