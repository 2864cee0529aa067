// Exact k-nearest-neighbour metrics: brute force with OpenMP over query cells, partial sort per cell.
#include "tools/workflow/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/error.h"

namespace cuvi::workflow {

std::vector<int32_t> knn(const std::vector<float>& latent, int64_t n, int64_t d, int64_t k) {
  CUVI_CHECK(int64_t(latent.size()) == n * d, "knn: latent size does not match n x d");
  CUVI_CHECK(k >= 1 && k < n, "knn: k must be in [1, n)");
  std::vector<int32_t> out(n * k);
  std::vector<double> sq(n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) sq[i] += double(latent[i * d + j]) * latent[i * d + j];
#pragma omp parallel
  {
    std::vector<std::pair<double, int32_t>> dist(n);
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; ++i) {
      const float* a = &latent[i * d];
      for (int64_t j = 0; j < n; ++j) {
        const float* b = &latent[j * d];
        double s = 0;
        for (int64_t t = 0; t < d; ++t) {
          const double diff = double(a[t]) - double(b[t]);
          s += diff * diff;
        }
        dist[j] = {j == i ? INFINITY : s, int32_t(j)};
      }
      std::partial_sort(dist.begin(), dist.begin() + k, dist.end());
      for (int64_t t = 0; t < k; ++t) out[i * k + t] = dist[t].second;
    }
  }
  return out;
}

double knn_accuracy(const std::vector<float>& latent, int64_t n, int64_t d, const std::vector<int32_t>& labels,
                    int64_t k) {
  const std::vector<int32_t> nn = knn(latent, n, d, k);
  int64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::map<int32_t, int> votes;
    for (int64_t t = 0; t < k; ++t) ++votes[labels[nn[i * k + t]]];
    int32_t best = -1;
    int best_n = -1;
    for (const auto& [label, count] : votes)  // ascending label: ties go to the smallest code
      if (count > best_n) {
        best = label;
        best_n = count;
      }
    hits += best == labels[i];
  }
  return double(hits) / double(n);
}

double batch_mixing(const std::vector<float>& latent, int64_t n, int64_t d, const std::vector<int32_t>& batches,
                    int64_t k) {
  int32_t n_batches = 0;
  for (int32_t b : batches) n_batches = std::max(n_batches, b + 1);
  CUVI_CHECK(n_batches >= 2, "batch mixing needs at least two batches");
  const std::vector<int32_t> nn = knn(latent, n, d, k);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int> counts(n_batches, 0);
    for (int64_t t = 0; t < k; ++t) ++counts[batches[nn[i * k + t]]];
    double h = 0;
    for (int c : counts)
      if (c > 0) {
        const double p = double(c) / double(k);
        h -= p * std::log(p);
      }
    total += h;
  }
  return total / double(n) / std::log(double(n_batches));
}

}  // namespace cuvi::workflow
