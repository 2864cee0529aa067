// The k-nearest-neighbour graph of an embedding in scanpy's and scib-metrics' convention (each cell is its
// own first neighbour), from the exact search of engine/pairwise.h, and its sparse distance matrices.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/backend.h"
#include "io/csr.h"

namespace cuvi::workflow {

struct NeighborGraph {
  int64_t n = 0, k = 0;          // k counts the cell itself, as scanpy's n_neighbors
  std::vector<int32_t> indices;  // (n, k); column 0 is the cell itself
  std::vector<float> distances;  // (n, k); column 0 is 0, then ascending Euclidean distances

  // The first k columns (scib-metrics' NeighborsResults.subset_neighbors).
  NeighborGraph first(int64_t k) const;
};

// Each cell followed by its k - 1 nearest other cells (exact Euclidean search on the backend).
NeighborGraph nearest_neighbors(Backend& backend,
                                const float* x,  // (n, d)
                                int64_t n, int64_t d, int64_t k);

// The graph as an n x n CSR of distances, rows in neighbour order: with_self = false is scanpy's
// obsp['distances'] (k - 1 entries per row); true keeps the cell's own 0 entry (scib-metrics'
// knn_graph_distances).
io::CsrMatrix distance_matrix(const NeighborGraph& g, bool with_self);

}  // namespace cuvi::workflow
