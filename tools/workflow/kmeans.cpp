// k-means: greedy k-means++ (2 + floor(ln k) candidates per centroid, drawn without replacement with
// probability proportional to the squared distance to the nearest chosen centroid; the candidate that
// lowers the potential most wins), then Lloyd iterations to a fixed point.
#include "tools/workflow/kmeans.h"

#include <cmath>
#include <limits>
#include <string>

#include "engine/error.h"
#include "engine/pairwise.h"
#include "kernels/common/philox.h"

namespace cuvi::workflow {
namespace {

constexpr uint32_t kKMeansStream = 0x6b6d6e73;  // Philox stream id of the seeding draws ("kmns")

double sq_dist(const float* a, const float* b, int64_t d) {
  double s = 0;
  for (int64_t t = 0; t < d; ++t) {
    const double diff = double(a[t]) - double(b[t]);
    s += diff * diff;
  }
  return s;
}

std::vector<float> plus_plus(const std::vector<float>& x, int64_t n, int64_t d, int64_t K, uint64_t seed,
                             uint32_t run) {
  uint64_t draw = 0;
  auto uniform = [&] { return philox_uniform(seed, run, kKMeansStream, draw++); };
  std::vector<float> c(static_cast<size_t>(K * d));
  auto take = [&](int64_t row, int64_t slot) {
    std::copy(&x[size_t(row * d)], &x[size_t(row * d + d)], &c[size_t(slot * d)]);
  };
  const int64_t first = std::min<int64_t>(int64_t(uniform() * double(n)), n - 1);
  take(first, 0);
  std::vector<double> closest(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) closest[size_t(j)] = sq_dist(&x[size_t(j * d)], &c[0], d);
  const int64_t trials = 2 + int64_t(std::log(double(K)));
  std::vector<double> mass(static_cast<size_t>(n)), cand_closest(static_cast<size_t>(n)), best_closest(static_cast<size_t>(n));
  for (int64_t slot = 1; slot < K; ++slot) {
    mass = closest;
    double best_pot = std::numeric_limits<double>::infinity();
    int64_t best = -1;
    for (int64_t t = 0; t < trials; ++t) {
      double total = 0;
      for (double m : mass) total += m > 0 ? m : 0;
      int64_t pick = -1;
      if (total > 0) {
        const double target = uniform() * total;
        double acc = 0;
        for (int64_t j = 0; j < n; ++j) {
          if (mass[size_t(j)] <= 0) continue;
          acc += mass[size_t(j)];
          pick = j;
          if (acc > target) break;
        }
      } else {  // every row sits on a chosen centroid: the first row not drawn yet
        for (int64_t j = 0; j < n && pick < 0; ++j)
          if (mass[size_t(j)] == 0) pick = j;
      }
      if (pick < 0) break;
      mass[size_t(pick)] = -1;  // drawn: without replacement
      double pot = 0;
      for (int64_t j = 0; j < n; ++j) {
        cand_closest[size_t(j)] = std::min(closest[size_t(j)], sq_dist(&x[size_t(j * d)], &x[size_t(pick * d)], d));
        pot += cand_closest[size_t(j)];
      }
      if (pot < best_pot) {
        best_pot = pot;
        best = pick;
        best_closest.swap(cand_closest);
      }
    }
    take(best, slot);
    closest.swap(best_closest);
    best_closest.resize(size_t(n));
  }
  return c;
}

KMeansResult lloyd(Backend& backend, const std::vector<float>& x, int64_t n, int64_t d, std::vector<float> c,
                   int64_t K, const KMeansOptions& opts, double tol) {
  KMeansResult r;
  std::vector<int32_t> prev;
  double prev_inertia = std::numeric_limits<double>::infinity();
  const int64_t hard_cap = 10 * std::max<int64_t>(opts.max_iter, 1);
  for (int64_t it = 0;; ++it) {
    const KnnLists nearest = knn_search(backend, x.data(), n, c.data(), K, d, 1, false);
    double inertia = 0;
    for (float v : nearest.distances) inertia += double(v) * double(v);
    r.labels = nearest.indices;
    r.inertia = inertia;
    r.n_iter = it;
    const bool fixed = r.labels == prev;
    const bool settled = it >= opts.max_iter && std::fabs(prev_inertia - inertia) <= tol;
    if (fixed || settled || it >= hard_cap) break;
    prev = r.labels;
    prev_inertia = inertia;
    std::vector<double> sum(size_t(K * d), 0.0);
    std::vector<int64_t> count(size_t(K), 0);
    for (int64_t i = 0; i < n; ++i) {
      const int32_t l = r.labels[size_t(i)];
      ++count[size_t(l)];
      for (int64_t t = 0; t < d; ++t) sum[size_t(l * d + t)] += x[size_t(i * d + t)];
    }
    for (int64_t l = 0; l < K; ++l)  // an empty cluster's centroid goes to 0, the data mean (as scib-metrics)
      for (int64_t t = 0; t < d; ++t)
        c[size_t(l * d + t)] = float(sum[size_t(l * d + t)] / double(std::max<int64_t>(count[size_t(l)], 1)));
  }
  r.centroids = std::move(c);
  return r;
}

}  // namespace

KMeansResult kmeans(Backend& backend, const float* x, int64_t n, int64_t d, const KMeansOptions& opts) {
  const int64_t K = opts.n_clusters;
  CUVI_CHECK(K >= 1 && K <= n, "k-means: n_clusters = " + std::to_string(K) + " must be in [1, n_cells = " +
                                   std::to_string(n) + "]");
  CUVI_CHECK(opts.n_init >= 1, "k-means: n_init must be at least 1");
  std::vector<double> mean(size_t(d), 0.0), var(size_t(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < d; ++t) mean[size_t(t)] += x[i * d + t];
  for (double& m : mean) m /= double(n);
  std::vector<float> xc(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < d; ++t) {
      const double v = double(x[i * d + t]) - mean[size_t(t)];
      xc[size_t(i * d + t)] = float(v);
      var[size_t(t)] += v * v;
    }
  double mean_var = 0;
  for (double v : var) mean_var += v / double(n);
  const double tol = mean_var / double(d) * opts.tol;
  KMeansResult best;
  for (int64_t run = 0; run < opts.n_init; ++run) {
    KMeansResult r = lloyd(backend, xc, n, d, plus_plus(xc, n, d, K, opts.seed, uint32_t(run)), K, opts, tol);
    if (run == 0 || r.inertia < best.inertia) best = std::move(r);
  }
  for (int64_t l = 0; l < K; ++l)
    for (int64_t t = 0; t < d; ++t) best.centroids[size_t(l * d + t)] += float(mean[size_t(t)]);
  return best;
}

}  // namespace cuvi::workflow
