// Neighbour graphs against recorded references: cuvi's exact 30-NN of a 30-dimensional PBMC embedding
// against numpy float64 brute force, and its scanpy layout and UMAP connectivities against scanpy's own
// sc.pp.neighbors on CellBench (tests/fixtures/scib).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "tests/workflow/scib_fixture.h"
#include "tools/workflow/connectivities.h"
#include "tools/workflow/neighbors.h"

namespace cuvi::test {
namespace {

constexpr double kUnit = 1.0 / (1 << 24);  // float32 unit roundoff

TEST(NeighborsReference, ExactKnnMatchesNumpyBruteForce) {
  const io::AnnDataFile f = io::AnnDataFile::open(scib_fixture("pbmc.h5ad"));
  int64_t d = 0, k = 0, kd = 0;
  const std::vector<float> x = f.read_obsm("X_pre", &d);
  const std::vector<float> ref_idx = f.read_obsm("numpy_knn_indices", &k), ref_dist = f.read_obsm("numpy_knn_distances", &kd);
  ASSERT_EQ(k, 30);
  ASSERT_EQ(kd, 30);
  const int64_t n = f.n_obs();
  auto b = make_cpu_backend(1);
  const workflow::NeighborGraph g = workflow::nearest_neighbors(*b, x.data(), n, d, k + 1);
  int64_t swapped = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(g.indices[size_t(i * (k + 1))], i);
    for (int64_t t = 0; t < k; ++t) {
      const float ours = g.distances[size_t(i * (k + 1) + t + 1)], want = ref_dist[size_t(i * k + t)];
      EXPECT_NEAR(ours, want, 2 * kUnit * want) << "cell " << i << " neighbour " << t;  // both: float(exact double)
      if (g.indices[size_t(i * (k + 1) + t + 1)] != int32_t(ref_idx[size_t(i * k + t)])) {
        ++swapped;  // only neighbours at equal float distances may trade places
        EXPECT_EQ(ours, want) << "cell " << i << " neighbour " << t << " differs at distinct distances";
      }
    }
  }
  EXPECT_LE(swapped, n * k / 1000);
}

// How far a membership may move within umap-learn's own stopping rule: the search for sigma_i stops once
// |psum - log2 k| < 1e-5, so sigma_i is fixed only to dlnsigma = 1e-5 / (dpsum / dlnsigma), and
// w = exp(-(d - rho) / sigma) to w (d - rho) / sigma * dlnsigma. Per row: (sigma, rho, dlnsigma).
struct RowSpread {
  std::vector<float> sigma, rho;
  std::vector<double> dlnsigma;
};
RowSpread row_spread(const workflow::NeighborGraph& g) {
  RowSpread s;
  workflow::smooth_knn_dist(g, &s.sigma, &s.rho);
  for (int64_t i = 0; i < g.n; ++i) {
    double slope = 0;
    for (int64_t t = 1; t < g.k; ++t) {
      const double z = (g.distances[size_t(i * g.k + t)] - s.rho[size_t(i)]) / s.sigma[size_t(i)];
      if (z > 0) slope += std::exp(-z) * z;
    }
    s.dlnsigma.push_back(1e-5 / std::max(slope, 1e-30));
  }
  return s;
}
double membership_spread(const workflow::NeighborGraph& g, const RowSpread& s, int64_t i, int64_t j) {
  for (int64_t t = 1; t < g.k; ++t)
    if (g.indices[size_t(i * g.k + t)] == j) {
      const double z = (g.distances[size_t(i * g.k + t)] - s.rho[size_t(i)]) / s.sigma[size_t(i)];
      return z > 0 ? std::exp(-z) * z * s.dlnsigma[size_t(i)] : 0.0;
    }
  return 0;  // j is not among i's neighbours
}

// scanpy's graph for the same embedding: same neighbour lists (obsp['distances'] in neighbour order) and the
// same connectivities. Fed scanpy's own distances, the fuzzy union must reproduce its values within the
// spread umap-learn's stopping rule leaves (plus float32 roundings).
TEST(NeighborsReference, ScanpyLayoutAndConnectivities) {
  const io::AnnDataFile f = io::AnnDataFile::open(scib_fixture("cellbench.h5ad"));
  int64_t d = 0;
  const std::vector<float> x = f.read_obsm("X_center", &d);
  const int64_t n = f.n_obs(), k = 15;
  auto b = make_cpu_backend(1);
  const workflow::NeighborGraph g = workflow::nearest_neighbors(*b, x.data(), n, d, k);
  const io::CsrMatrix dist = workflow::distance_matrix(g, false);
  const io::CsrMatrix sd = f.read_obsp("scanpy_distances"), sc = f.read_obsp("scanpy_connectivities");
  ASSERT_EQ(dist.nnz(), sd.nnz());
  workflow::NeighborGraph from_scanpy = g;  // the cell, then scanpy's distances in ascending order
  auto sq_norm = [&](int64_t i) {
    double s = 0;
    for (int64_t t = 0; t < d; ++t) s += double(x[size_t(i * d + t)]) * x[size_t(i * d + t)];
    return s;
  };
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<float, int32_t>> row;
    for (int64_t p = sd.indptr[size_t(i)]; p < sd.indptr[size_t(i + 1)]; ++p) row.emplace_back(sd.data[size_t(p)], sd.indices[size_t(p)]);
    std::sort(row.begin(), row.end());
    ASSERT_EQ(int64_t(row.size()), k - 1);
    for (int64_t t = 0; t < k - 1; ++t) {
      const int32_t j = row[size_t(t)].second;
      EXPECT_EQ(g.indices[size_t(i * k + t + 1)], j) << "cell " << i;
      // sklearn squares in float32 as |a|^2 + |b|^2 - 2 a.b: error e2 <= 2 (d + 3) u (|a|^2 + |b|^2) on the
      // squared distance, so |d_ours - d_sklearn| <= e2 / (d_ours + d_sklearn).
      const double ours_d = g.distances[size_t(i * k + t + 1)], theirs = row[size_t(t)].first;
      const double e2 = 2.0 * double(d + 3) * kUnit * (sq_norm(i) + sq_norm(j));
      EXPECT_NEAR(ours_d, theirs, e2 / std::max(ours_d + theirs, 1e-30) + 2 * kUnit * ours_d) << "cell " << i;
      from_scanpy.indices[size_t(i * k + t + 1)] = j;
      from_scanpy.distances[size_t(i * k + t + 1)] = row[size_t(t)].first;
    }
  }
  const io::CsrMatrix ours = workflow::umap_connectivities(from_scanpy);
  ASSERT_EQ(ours.indptr, sc.indptr);
  ASSERT_EQ(ours.indices, sc.indices);
  const RowSpread spread = row_spread(from_scanpy);
  int64_t beyond_rounding = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = sc.indptr[size_t(i)]; p < sc.indptr[size_t(i + 1)]; ++p) {
      const int64_t j = sc.indices[size_t(p)];
      const double tol = membership_spread(from_scanpy, spread, i, j) + membership_spread(from_scanpy, spread, j, i) +
                         8 * kUnit;
      EXPECT_NEAR(ours.data[size_t(p)], sc.data[size_t(p)], tol) << "entry (" << i << ", " << j << ")";
      beyond_rounding += std::fabs(ours.data[size_t(p)] - sc.data[size_t(p)]) > 8 * kUnit;
    }
  EXPECT_LT(beyond_rounding, sc.nnz() / 10);  // most rows stop at the very same step
  const io::CsrMatrix direct = workflow::umap_connectivities(g);  // cuvi's own distances: same structure
  EXPECT_EQ(direct.indices, sc.indices);
}

}  // namespace
}  // namespace cuvi::test
