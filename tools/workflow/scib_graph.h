// Graph connectivity of scib-metrics 0.6: per label, the largest strongly connected component of the
// directed k-NN graph restricted to that label's cells, as a fraction of them; the mean over labels.
#pragma once
#include <cstdint>
#include <vector>

#include "tools/workflow/neighbors.h"

namespace cuvi::workflow {

double graph_connectivity_score(const NeighborGraph& g, const std::vector<int32_t>& labels, int32_t n_labels);

}  // namespace cuvi::workflow
