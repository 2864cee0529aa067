// Clustering agreement of scib-metrics 0.6: NMI (arithmetic normalisation) and ARI as scikit-learn computes
// them, for k-means with k = number of labels (nmi_ari_cluster_labels_kmeans) and for Leiden over the
// resolutions 0.2, 0.4, ..., 2.0 keeping the best NMI (nmi_ari_cluster_labels_leiden).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/backend.h"
#include "io/csr.h"

namespace cuvi::workflow {

// sklearn's normalized_mutual_info_score(average_method="arithmetic") and adjusted_rand_score.
double nmi_score(const std::vector<int32_t>& a, const std::vector<int32_t>& b);
double ari_score(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

struct NmiAri {
  double nmi = 0, ari = 0;
};

NmiAri kmeans_nmi_ari(Backend& backend, const float* x, int64_t n, int64_t d, const std::vector<int32_t>& labels,
                      int32_t n_labels, uint64_t seed = 0);

// connectivities: UMAP connectivities of the 15-neighbour graph.
NmiAri leiden_nmi_ari(const io::CsrMatrix& connectivities, const std::vector<int32_t>& labels, uint64_t seed = 42);

}  // namespace cuvi::workflow
