// UMAP's fuzzy simplicial set of a neighbour graph: the connectivities scanpy stores in
// obsp['connectivities'] (umap-learn's fuzzy_simplicial_set with set_op_mix_ratio 1, local_connectivity 1).
#pragma once
#include <vector>

#include "io/csr.h"
#include "tools/workflow/neighbors.h"

namespace cuvi::workflow {

// Per cell: rho = distance to the nearest other cell, sigma from umap-learn's smooth_knn_dist binary search
// (64 steps, float32 arithmetic as its numba kernel with a double sum, target log2(k), floor 1e-3 x mean
// distance).
void smooth_knn_dist(const NeighborGraph& g, std::vector<float>* sigmas, std::vector<float>* rhos);

// The symmetric n x n connectivities: memberships w_ij = exp(-(d_ij - rho_i) / sigma_i) (1 within rho,
// 0 for the cell itself) combined by the fuzzy union w_ij + w_ji - w_ij w_ji. Canonical CSR, zeros dropped.
io::CsrMatrix umap_connectivities(const NeighborGraph& g);

}  // namespace cuvi::workflow
