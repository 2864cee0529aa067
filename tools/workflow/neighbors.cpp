// Neighbour graphs: the exact search excluding the cell, with the cell prepended as neighbour 0.
#include "tools/workflow/neighbors.h"

#include <string>

#include "engine/error.h"
#include "engine/pairwise.h"

namespace cuvi::workflow {

NeighborGraph NeighborGraph::first(int64_t k_new) const {
  CUVI_CHECK(k_new >= 1 && k_new <= k, "neighbour graph: cannot take " + std::to_string(k_new) +
                                            " neighbours from a graph of " + std::to_string(k));
  NeighborGraph g;
  g.n = n;
  g.k = k_new;
  g.indices.resize(size_t(n * k_new));
  g.distances.resize(size_t(n * k_new));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < k_new; ++t) {
      g.indices[size_t(i * k_new + t)] = indices[size_t(i * k + t)];
      g.distances[size_t(i * k_new + t)] = distances[size_t(i * k + t)];
    }
  return g;
}

NeighborGraph nearest_neighbors(Backend& backend, const float* x, int64_t n, int64_t d, int64_t k) {
  CUVI_CHECK(k >= 2 && k <= n, "n_neighbors = " + std::to_string(k) + " must be in [2, n_cells = " +
                                   std::to_string(n) + "] (it counts the cell itself)");
  const KnnLists nn = knn_search(backend, x, n, x, n, d, k - 1, true);
  NeighborGraph g;
  g.n = n;
  g.k = k;
  g.indices.resize(size_t(n * k));
  g.distances.resize(size_t(n * k));
  for (int64_t i = 0; i < n; ++i) {
    g.indices[size_t(i * k)] = int32_t(i);
    g.distances[size_t(i * k)] = 0.f;
    for (int64_t t = 1; t < k; ++t) {
      g.indices[size_t(i * k + t)] = nn.indices[size_t(i * (k - 1) + t - 1)];
      g.distances[size_t(i * k + t)] = nn.distances[size_t(i * (k - 1) + t - 1)];
    }
  }
  return g;
}

io::CsrMatrix distance_matrix(const NeighborGraph& g, bool with_self) {
  const int64_t first = with_self ? 0 : 1, per_row = g.k - first;
  io::CsrMatrix m;
  m.n_rows = m.n_cols = g.n;
  m.indptr.resize(size_t(g.n + 1));
  m.indices.reserve(size_t(g.n * per_row));
  m.data.reserve(size_t(g.n * per_row));
  for (int64_t i = 0; i < g.n; ++i) {
    m.indptr[size_t(i)] = i * per_row;
    for (int64_t t = first; t < g.k; ++t) {
      m.indices.push_back(g.indices[size_t(i * g.k + t)]);
      m.data.push_back(g.distances[size_t(i * g.k + t)]);
    }
  }
  m.indptr[size_t(g.n)] = g.n * per_row;
  return m;
}

}  // namespace cuvi::workflow
