// Leiden community detection on a weighted graph through libigraph's igraph_community_leiden, called as
// python-igraph's community_leiden(objective_function="modularity", weights="weight") is by scanpy's
// sc.tl.leiden(flavor="igraph") and scib-metrics.
#pragma once
#include <cstdint>
#include <vector>

#include "io/csr.h"

namespace cuvi::workflow {

struct LeidenOptions {
  double resolution = 1.0;
  int64_t n_iterations = 2;  // python-igraph's default; negative: until no vertex moves
  double beta = 0.01;        // randomness of the refinement step (igraph's default)
  uint64_t seed = 0;         // seeds igraph's default random number generator
};

struct LeidenResult {
  std::vector<int32_t> membership;  // (n) cluster per vertex, numbered by decreasing size (ties: first vertex)
  int32_t n_clusters = 0;
  double quality = 0;     // igraph's value of the optimised quality function
  double modularity = 0;  // igraph_modularity of the partition at this resolution (sc.tl.leiden's uns value)
};

// Every stored entry (i, j) of `adjacency` (square, e.g. scanpy's symmetric connectivities) becomes an
// undirected edge of weight a_ij, as scanpy builds the igraph graph (a symmetric matrix gives each pair
// twice). Modularity with resolution gamma: node weights are the strengths, the resolution is
// gamma / sum of strengths (python-igraph's normalize_resolution).
LeidenResult leiden(const io::CsrMatrix& adjacency, const LeidenOptions& opts = {});

// Cluster codes renumbered by decreasing cluster size, ties by the first vertex of each cluster.
std::vector<int32_t> renumber_by_size(const std::vector<int32_t>& membership, int32_t* n_clusters);

}  // namespace cuvi::workflow
