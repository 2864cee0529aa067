// regularizedvi's label-free neighbourhood-correlation metric (regularizedvi.md §2, regularizedvi.plt
// compute_marker_correlation / summarise_marker_correlation / compute_composite_score): marker-gene Pearson
// correlation of each cell with its k-NN neighbours, stratified by library / dataset / technical masks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/csr.h"
#include "tools/workflow/result_table.h"

namespace cuvi::workflow {

// Per-cell category codes (-1 = missing, which, as pandas' cat.codes, compares equal to another missing).
struct NeighbourhoodCovariates {
  std::string library_key;
  std::vector<int32_t> library;  // (N)
  std::string dataset_key;       // "" = none
  std::vector<int32_t> dataset;  // (N) or empty
  std::vector<std::string> technical_keys;
  std::vector<std::vector<int32_t>> technical;  // per key, (N)
};

// Each library must map to exactly one dataset (missing values ignored); fails naming the first library that
// spans several, with its datasets' names (library_names / dataset_names index the codes).
void validate_covariate_hierarchy(const NeighbourhoodCovariates& c, const std::vector<std::string>& library_names,
                                  const std::vector<std::string>& dataset_names);

// Mask names in the reference's order: same_library, between_libraries, [cross_library, cross_dataset],
// within_/between_{tech} per key, [cross_technical].
std::vector<std::string> active_masks(const NeighbourhoodCovariates& c);

// The n x n connectivities restricted to each mask (diagonal and zeros dropped, weights kept), in
// active_masks order.
std::vector<io::CsrMatrix> neighbour_masks(const io::CsrMatrix& connectivities, const NeighbourhoodCovariates& c);

// compute_marker_correlation: counts (N, G) raw counts, markers = column indices into G. Each cell's marker
// counts are scaled by G / (its total over all G genes). Columns in the reference's order (n_neighbours_total,
// marker_gene_total_expression, corr_avg_all_neighbours, ..., corr_norm_by_all_{mask}); index = obs_names.
ResultTable marker_correlation(const io::CsrMatrix& counts, const std::vector<int32_t>& markers,
                               const io::CsrMatrix& connectivities, const NeighbourhoodCovariates& c,
                               const std::vector<std::string>& obs_names);

// summarise_marker_correlation (headline H1-H12, H14, with the isolation norms from the covariates) followed
// by compute_composite_score; one row per metric, column "value".
ResultTable summarise_marker_correlation(const ResultTable& per_cell, const NeighbourhoodCovariates& c,
                                         int64_t min_neighbours = 1);

// Label-free marker choice: the n genes of largest variance of depth-normalised counts (count * G / total),
// ties by the smaller index; returned in gene order.
std::vector<int32_t> top_variable_markers(const io::CsrMatrix& counts, int64_t n);

}  // namespace cuvi::workflow
