// Exact k-nearest-neighbour metrics on the CPU search of engine/pairwise.h (each cell excluded from its list).
#include "tools/workflow/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "engine/backend.h"
#include "engine/error.h"
#include "engine/pairwise.h"

namespace cuvi::workflow {

std::vector<int32_t> knn(const std::vector<float>& latent, int64_t n, int64_t d, int64_t k) {
  CUVI_CHECK(int64_t(latent.size()) == n * d, "knn: latent size does not match n x d");
  CUVI_CHECK(k >= 1 && k < n, "knn: k must be in [1, n)");
  const std::unique_ptr<Backend> cpu = make_cpu_backend(0);
  return knn_search(*cpu, latent.data(), n, latent.data(), n, d, k, true).indices;
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
