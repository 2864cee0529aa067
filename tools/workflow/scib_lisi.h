// Local inverse Simpson index of scib-metrics 0.6 (lisi_knn, ilisi_knn, clisi_knn) on a neighbour graph
// that lists each cell first (the 90-neighbour graph of the Benchmarker).
#pragma once
#include <cstdint>
#include <vector>

#include "tools/workflow/neighbors.h"

namespace cuvi::workflow {

// Per cell: Gaussian kernel weights exp(-d beta) over its neighbours (itself excluded), beta found by
// bisection until the entropy is within 1e-5 of ln(perplexity) (at most 50 steps, beta starting at 1);
// returns 1 / sum over groups of (weight of the group)^2 (-1 where every weight underflows).
// perplexity <= 0: floor(k / 3).
std::vector<double> lisi_per_cell(const NeighborGraph& g, const std::vector<int32_t>& codes, int32_t n_groups,
                                  double perplexity = 0);

// iLISI: (median LISI over batches - 1) / (n_batches - 1). cLISI: (n_labels - median) / (n_labels - 1).
double ilisi_score(const NeighborGraph& g, const std::vector<int32_t>& batches, int32_t n_batches);
double clisi_score(const NeighborGraph& g, const std::vector<int32_t>& labels, int32_t n_labels);

// numpy's nanmedian (the mean of the middle two for an even count; NaN when every value is NaN).
double nan_median(std::vector<double> v);

}  // namespace cuvi::workflow
