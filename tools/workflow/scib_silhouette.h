// The silhouette family of scib-metrics 0.6: silhouette_samples (sklearn's definition, scib-metrics'
// 'nearest' / 'mean_other' between-cluster distances), silhouette label, isolated labels, silhouette batch
// and BRAS. Per-label distance sums run on the backend (engine/pairwise.h).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/backend.h"
#include "engine/pairwise.h"

namespace cuvi::workflow {

enum class BetweenClusters { Nearest, MeanOther };

// s_i = (b_i - a_i) / max(a_i, b_i): a_i = mean distance to the other cells of its group, b_i = mean
// distance to the nearest other group (Nearest) or to every cell outside its group (MeanOther); NaN -> 0
// (singleton groups, a single group). codes: 0..L-1.
std::vector<double> silhouette_samples(Backend& backend,
                                       const float* x,  // (n, d)
                                       int64_t n, int64_t d, const std::vector<int32_t>& codes, int32_t n_groups,
                                       PairDistance metric, BetweenClusters between);

// Silhouette label: (mean s_i + 1) / 2 over all cells, from the label silhouettes.
double silhouette_label_score(const std::vector<double>& samples);

// Isolated labels (ASW variant): labels present in the fewest batches (at most the minimum number of batches
// any label occurs in); score = mean over those labels of the mean rescaled silhouette (s + 1) / 2.
double isolated_labels_score(const std::vector<double>& label_samples, const std::vector<int32_t>& labels,
                             int32_t n_labels, const std::vector<int32_t>& batches, int32_t n_batches);

// Per label with 2 <= batches < cells: 1 - |silhouette of the batches|, averaged per label, then over labels.
// silhouette_batch: Euclidean + Nearest; BRAS: Cosine + MeanOther. Fails when no label qualifies.
double silhouette_batch_score(Backend& backend, const float* x, int64_t n, int64_t d, const std::vector<int32_t>& labels,
                              int32_t n_labels, const std::vector<int32_t>& batches, PairDistance metric,
                              BetweenClusters between);

}  // namespace cuvi::workflow
