// Fuzzy simplicial set of a k-NN graph, step for step as umap-learn 0.5 (smooth_knn_dist,
// compute_membership_strengths, fuzzy union), in its arithmetic (float32 but for the kernel sum).
#include "tools/workflow/connectivities.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <utility>

namespace cuvi::workflow {
namespace {

constexpr double kSmoothKTolerance = 1e-5;  // umap_.SMOOTH_K_TOLERANCE
constexpr float kMinKDistScale = 1e-3f;     // umap_.MIN_K_DIST_SCALE
constexpr int kBinarySearchSteps = 64;

}  // namespace

void smooth_knn_dist(const NeighborGraph& g, std::vector<float>* sigmas, std::vector<float>* rhos) {
  const int64_t n = g.n, k = g.k;
  const double target = std::log2(double(k));
  double total = 0;
  for (float d : g.distances) total += d;
  const float mean_distances = float(total / double(std::max<int64_t>(n * k, 1)));
  sigmas->assign(size_t(n), 0.f);
  rhos->assign(size_t(n), 0.f);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* row = &g.distances[size_t(i * k)];
    float rho = 0.f;
    for (int64_t j = 0; j < k; ++j)  // local_connectivity 1: the first positive distance in row order
      if (row[j] > 0.f) {
        rho = row[j];
        break;
      }
    float lo = 0.f, hi = FLT_MAX, mid = 1.f;
    for (int step = 0; step < kBinarySearchSteps; ++step) {
      // lo, mid, hi and each term are float32 as in umap-learn's kernel, but its sum is double there: the
      // float32 `locals` typing does not reach into the prange body (checked against umap-learn 0.5.12).
      double psum = 0;
      for (int64_t j = 1; j < k; ++j) {
        const float d = row[j] - rho;
        psum += d > 0.f ? double(std::exp(-(d / mid))) : 1.0;
      }
      if (std::fabs(psum - target) < kSmoothKTolerance) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2.f;
      } else {
        lo = mid;
        mid = hi >= FLT_MAX ? mid * 2.f : (lo + hi) / 2.f;
      }
    }
    if (rho > 0.f) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += row[j];
      const float mean_row = float(s / double(k));
      mid = std::max(mid, kMinKDistScale * mean_row);
    } else {
      mid = std::max(mid, kMinKDistScale * mean_distances);
    }
    (*sigmas)[size_t(i)] = mid;
    (*rhos)[size_t(i)] = rho;
  }
}

io::CsrMatrix umap_connectivities(const NeighborGraph& g) {
  const int64_t n = g.n, k = g.k;
  std::vector<float> sigmas, rhos;
  smooth_knn_dist(g, &sigmas, &rhos);
  // Memberships A (row i: its neighbours), rows sorted by column, zeros dropped.
  std::vector<std::vector<std::pair<int32_t, float>>> a(static_cast<size_t>(n));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    auto& row = a[size_t(i)];
    row.reserve(size_t(k));
    for (int64_t j = 0; j < k; ++j) {
      const int32_t c = g.indices[size_t(i * k + j)];
      const float d = g.distances[size_t(i * k + j)];
      float v;
      if (c == i) v = 0.f;
      else if (d - rhos[size_t(i)] <= 0.f || sigmas[size_t(i)] == 0.f) v = 1.f;
      else v = std::exp(-((d - rhos[size_t(i)]) / sigmas[size_t(i)]));
      if (v != 0.f) row.emplace_back(c, v);
    }
    std::sort(row.begin(), row.end());
  }
  // A^T, rows sorted by column (filled in row order).
  std::vector<std::vector<std::pair<int32_t, float>>> at(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    for (const auto& [c, v] : a[size_t(i)]) at[size_t(c)].emplace_back(int32_t(i), v);
  io::CsrMatrix m;
  m.n_rows = m.n_cols = n;
  m.indptr.assign(size_t(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    const auto& r = a[size_t(i)];
    const auto& t = at[size_t(i)];
    size_t p = 0, q = 0;
    while (p < r.size() || q < t.size()) {
      int32_t c;
      float x = 0.f, y = 0.f;
      if (q >= t.size() || (p < r.size() && r[p].first < t[q].first)) {
        c = r[p].first;
        x = r[p++].second;
      } else if (p >= r.size() || t[q].first < r[p].first) {
        c = t[q].first;
        y = t[q++].second;
      } else {
        c = r[p].first;
        x = r[p++].second;
        y = t[q++].second;
      }
      const float sum = x + y, prod = x * y, w = sum - prod;  // fuzzy union, mix ratio 1
      if (w != 0.f) {
        m.indices.push_back(c);
        m.data.push_back(w);
      }
    }
    m.indptr[size_t(i + 1)] = int64_t(m.indices.size());
  }
  return m;
}

}  // namespace cuvi::workflow
