// k-means and Leiden on data whose answer is known: separated blobs (k-means++ and Lloyd recover them, the
// centroids are the blob means, the inertia is the sum of squared distances, the seed is honoured), two
// cliques joined by a weak edge (Leiden splits them; its modularity is the textbook value).
#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "engine/error.h"
#include "tools/workflow/kmeans.h"
#include "tools/workflow/leiden.h"
#include "tools/workflow/scib_nmi_ari.h"

namespace cuvi::test {
namespace {

struct Blobs {
  int64_t n = 600, d = 4;
  std::vector<float> x;
  std::vector<int32_t> truth;
  Blobs() {
    std::mt19937 rng(5);
    std::normal_distribution<float> z(0.f, 0.5f);
    const float centre[3][4] = {{0, 0, 0, 0}, {10, 0, -5, 2}, {0, 12, 3, -8}};
    for (int64_t i = 0; i < n; ++i) {
      const int32_t c = int32_t((i * 7) % 3);
      truth.push_back(c);
      for (int64_t t = 0; t < d; ++t) x.push_back(centre[c][t] + z(rng));
    }
  }
};

TEST(KMeans, RecoversSeparatedBlobs) {
  const Blobs b;
  auto cpu = make_cpu_backend(1);
  workflow::KMeansOptions o;
  o.n_clusters = 3;
  for (uint64_t seed : {0u, 1u, 7u}) {
    o.seed = seed;
    const workflow::KMeansResult r = workflow::kmeans(*cpu, b.x.data(), b.n, b.d, o);
    EXPECT_EQ(workflow::ari_score(r.labels, b.truth), 1.0) << "seed " << seed;
    double inertia = 0;
    for (int32_t l = 0; l < 3; ++l) {
      std::vector<double> mean(size_t(b.d), 0.0);
      int64_t m = 0;
      for (int64_t i = 0; i < b.n; ++i)
        if (r.labels[size_t(i)] == l) {
          ++m;
          for (int64_t t = 0; t < b.d; ++t) mean[size_t(t)] += b.x[size_t(i * b.d + t)];
        }
      for (int64_t t = 0; t < b.d; ++t) {
        mean[size_t(t)] /= double(m);
        EXPECT_NEAR(r.centroids[size_t(l * b.d + t)], mean[size_t(t)], 1e-5 * (1 + std::fabs(mean[size_t(t)])));
      }
      for (int64_t i = 0; i < b.n; ++i)
        if (r.labels[size_t(i)] == l)
          for (int64_t t = 0; t < b.d; ++t)
            inertia += (b.x[size_t(i * b.d + t)] - mean[size_t(t)]) * (b.x[size_t(i * b.d + t)] - mean[size_t(t)]);
    }
    EXPECT_NEAR(r.inertia, inertia, 1e-5 * inertia);
    EXPECT_LT(r.n_iter, o.max_iter);  // a fixed point, not the iteration cap
  }
}

TEST(KMeans, SeedsAreHonouredAndNInitKeepsTheBest) {
  const Blobs b;
  auto cpu = make_cpu_backend(1);
  workflow::KMeansOptions o;
  o.n_clusters = 8;  // more clusters than blobs: the local optimum depends on the seeding
  const workflow::KMeansResult a = workflow::kmeans(*cpu, b.x.data(), b.n, b.d, o);
  EXPECT_EQ(workflow::kmeans(*cpu, b.x.data(), b.n, b.d, o).labels, a.labels);  // same seed, same result
  int distinct = 0;
  for (uint64_t s = 1; s < 5; ++s) {
    o.seed = s;
    distinct += workflow::kmeans(*cpu, b.x.data(), b.n, b.d, o).labels != a.labels;
  }
  EXPECT_GT(distinct, 0) << "every seed gave the same clustering";
  o.seed = 100;
  const double single = workflow::kmeans(*cpu, b.x.data(), b.n, b.d, o).inertia;
  o.n_init = 4;  // run 0 of the four is the single run above
  EXPECT_LE(workflow::kmeans(*cpu, b.x.data(), b.n, b.d, o).inertia, single);
  o.n_clusters = 601;
  EXPECT_THROW(workflow::kmeans(*cpu, b.x.data(), b.n, b.d, o), Error);
}

TEST(KMeans, MoreClustersThanDistinctPoints) {
  std::vector<float> x;
  for (int i = 0; i < 40; ++i) x.push_back(float(i % 4));  // four distinct 1-d values
  auto cpu = make_cpu_backend(1);
  workflow::KMeansOptions o;
  o.n_clusters = 6;
  const workflow::KMeansResult r = workflow::kmeans(*cpu, x.data(), 40, 1, o);
  EXPECT_EQ(r.inertia, 0.0);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(r.centroids[size_t(r.labels[size_t(i)])], x[size_t(i)]);
}

// Two 10-cliques (weight 1) joined by one edge of weight 0.1, stored symmetrically as scanpy stores
// connectivities.
io::CsrMatrix two_cliques() {
  io::CsrMatrix m;
  m.n_rows = m.n_cols = 20;
  m.indptr.push_back(0);
  for (int32_t i = 0; i < 20; ++i) {
    for (int32_t j = 0; j < 20; ++j) {
      const bool same = (i < 10) == (j < 10);
      const bool bridge = (i == 9 && j == 10) || (i == 10 && j == 9);
      if (i != j && (same || bridge)) {
        m.indices.push_back(j);
        m.data.push_back(bridge ? 0.1f : 1.f);
      }
    }
    m.indptr.push_back(int64_t(m.indices.size()));
  }
  return m;
}

double modularity(const io::CsrMatrix& a, const std::vector<int32_t>& c, double gamma) {
  std::vector<double> r(size_t(a.n_rows), 0.0);
  double two_w = 0;
  for (int64_t i = 0; i < a.n_rows; ++i)
    for (int64_t p = a.indptr[size_t(i)]; p < a.indptr[size_t(i + 1)]; ++p) {
      r[size_t(i)] += a.data[size_t(p)];
      two_w += a.data[size_t(p)];
    }
  double q = 0;
  for (int64_t i = 0; i < a.n_rows; ++i) {
    for (int64_t p = a.indptr[size_t(i)]; p < a.indptr[size_t(i + 1)]; ++p)
      if (c[size_t(i)] == c[size_t(a.indices[size_t(p)])]) q += a.data[size_t(p)];
    for (int64_t j = 0; j < a.n_rows; ++j)
      if (c[size_t(i)] == c[size_t(j)]) q -= gamma * r[size_t(i)] * r[size_t(j)] / two_w;
  }
  return q / two_w;
}

TEST(Leiden, SplitsTwoCliques) {
  const io::CsrMatrix g = two_cliques();
  for (uint64_t seed : {0u, 42u}) {
    workflow::LeidenOptions o;
    o.seed = seed;
    const workflow::LeidenResult r = workflow::leiden(g, o);
    EXPECT_EQ(r.n_clusters, 2);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(r.membership[size_t(i)], r.membership[0] == 0 ? (i < 10 ? 0 : 1) : (i < 10 ? 1 : 0));
    EXPECT_NEAR(r.modularity, modularity(g, r.membership, 1.0), 1e-12);
  }
  workflow::LeidenOptions low;
  low.resolution = 5e-4;  // below twice the bridge's weight fraction (0.2 / 180.2) one cluster wins
  EXPECT_EQ(workflow::leiden(g, low).n_clusters, 1);
}

TEST(Leiden, RenumberBySize) {
  int32_t k = 0;
  EXPECT_EQ(workflow::renumber_by_size({5, 2, 2, 5, 2, 9}, &k), (std::vector<int32_t>{1, 0, 0, 1, 0, 2}));
  EXPECT_EQ(k, 3);
  io::CsrMatrix bad = two_cliques();
  bad.data[3] = -1.f;
  EXPECT_THROW(workflow::leiden(bad), Error);
}

}  // namespace
}  // namespace cuvi::test
