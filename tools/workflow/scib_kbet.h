// kBET per label of scib-metrics 0.6 (kbet_per_label): per label, the UMAP connectivities restricted to
// its cells, a diffusion map (leading eigenvectors of the density-normalised transition matrix, scaled by
// lambda / (1 - lambda)), k0 + 1 exact nearest neighbours in it, and kBET's chi-square test per cell.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "io/csr.h"
#include "tools/workflow/neighbors.h"

namespace cuvi::workflow {

struct KbetOptions {
  double alpha = 0.05;           // significance level of the test
  int64_t diffusion_n_comps = 100;
};

struct KbetLabel {
  int32_t label = 0;
  double score = 0;  // acceptance rate; NaN when skipped (< 10 cells or a single batch)
};

// The acceptance rate of kBET: fraction of cells whose neighbour batch counts (the cell included) pass the
// chi-square test against the global batch frequencies (p >= alpha).
double kbet_acceptance(const NeighborGraph& g, const std::vector<int32_t>& batches, int32_t n_batches, double alpha);

// Diffusion-map neighbours of a connected (or pruned) connectivity graph: each cell and its k nearest others.
NeighborGraph diffusion_neighbors(Backend& backend, const io::CsrMatrix& connectivities, int64_t k, int64_t n_comps);

// connectivities: the UMAP connectivities of the 50-neighbour graph (umap_connectivities); labels: codes
// 0..L-1 named by label_names (visited in sorted-name order, as np.unique). Returns the per-label scores;
// the metric is their NaN-ignoring mean (kbet_score).
std::vector<KbetLabel> kbet_per_label(Backend& backend, const io::CsrMatrix& connectivities,
                                      const std::vector<int32_t>& batches, const std::vector<int32_t>& labels,
                                      const std::vector<std::string>& label_names, const KbetOptions& opts = {});
double kbet_score(const std::vector<KbetLabel>& per_label);

// The rows and columns `keep` of a square CSR (keep ascending; column indices stay sorted).
io::CsrMatrix csr_submatrix(const io::CsrMatrix& m, const std::vector<int64_t>& keep);

}  // namespace cuvi::workflow
