// k-means with greedy k-means++ seeding, as scib-metrics' KMeans (its defaults: n_init 1, max_iter 300,
// tol 1e-4 x mean feature variance, data centred first, an empty cluster's centroid falls to the mean).
// Assignments run as a 1-nearest-centroid search on the backend (engine/pairwise.h).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/backend.h"

namespace cuvi::workflow {

struct KMeansOptions {
  int64_t n_clusters = 8;
  int64_t n_init = 1;      // best inertia of this many seeded runs
  int64_t max_iter = 300;  // Lloyd iterations at most
  double tol = 1e-4;       // converged when the inertia moves less than tol x mean feature variance
  uint64_t seed = 0;       // Philox seed of the k-means++ draws
};

struct KMeansResult {
  std::vector<int32_t> labels;     // (n) nearest final centroid, ties to the smaller index
  std::vector<float> centroids;    // (n_clusters, d)
  double inertia = 0;              // sum of squared distances to the assigned centroids
  int64_t n_iter = 0;              // Lloyd iterations of the kept run
};

KMeansResult kmeans(Backend& backend,
                    const float* x,  // (n, d)
                    int64_t n, int64_t d, const KMeansOptions& opts);

}  // namespace cuvi::workflow
