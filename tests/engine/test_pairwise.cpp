// Exact k-NN search and per-segment distance sums on the CPU backend against double-precision brute force:
// neighbour sets up to the float32 tile error, exact distances to one rounding, ties by index, tile
// boundaries crossed, duplicates, queries apart from the base, and the errors bad input gets.
#include <gtest/gtest.h>

#include <limits>
#include <memory>

#include "engine/error.h"
#include "engine/pairwise.h"
#include "tests/engine/pairwise_test_util.h"

namespace cuvi::test {
namespace {

std::unique_ptr<Backend> cpu() { return make_cpu_backend(1); }

TEST(PairwiseKnn, SelfSearchMatchesBruteForce) {
  auto b = cpu();
  const int64_t n = 517, d = 13;
  const auto x = clustered_points(n, d, 11);
  for (int64_t k : {1, 7, 100}) {
    const KnnLists got = knn_search(*b, x.data(), n, x.data(), n, d, k, true);
    expect_knn_matches(got, x, n, x, n, d, k, true);
  }
}

TEST(PairwiseKnn, SmallTilesCrossEveryBoundary) {
  auto b = cpu();
  const int64_t n = 517, d = 13, k = 100;
  const auto x = clustered_points(n, d, 12);
  const KnnLists small = knn_search(*b, x.data(), n, x.data(), n, d, k, true, TileShape{37, 64});
  expect_knn_matches(small, x, n, x, n, d, k, true);
  const KnnLists whole = knn_search(*b, x.data(), n, x.data(), n, d, k, true);
  EXPECT_EQ(small.indices, whole.indices);  // the tiling never changes the result
  EXPECT_EQ(small.distances, whole.distances);
}

TEST(PairwiseKnn, DefaultColumnTileCrossed) {
  auto b = cpu();
  const int64_t n = 4500, d = 3, k = 10;  // > 4096 base rows: two column tiles
  const auto x = clustered_points(n, d, 13);
  const KnnLists got = knn_search(*b, x.data(), n, x.data(), n, d, k, true);
  expect_knn_matches(got, x, n, x, n, d, k, true, 97);
}

TEST(PairwiseKnn, DuplicatesTieByIndex) {
  auto b = cpu();
  const int64_t n = 200, d = 5, k = 4;
  auto x = clustered_points(n, d, 14);
  for (int64_t r = 1; r < 4; ++r) std::copy(&x[0], &x[size_t(d)], &x[size_t(r * 50 * d)]);  // rows 0, 50, 100, 150
  const KnnLists got = knn_search(*b, x.data(), n, x.data(), n, d, k, true);
  const std::vector<int32_t> row0(got.indices.begin(), got.indices.begin() + 3), row100(&got.indices[size_t(100 * k)], &got.indices[size_t(100 * k + 3)]);
  EXPECT_EQ(row0, (std::vector<int32_t>{50, 100, 150}));
  EXPECT_EQ(row100, (std::vector<int32_t>{0, 50, 150}));
  for (int t = 0; t < 3; ++t) EXPECT_EQ(got.distances[size_t(t)], 0.f);
  expect_knn_matches(got, x, n, x, n, d, k, true);
}

TEST(PairwiseKnn, QueriesApartFromBase) {
  auto b = cpu();
  const int64_t n = 517, m = 123, d = 9;
  const auto base = clustered_points(n, d, 15), q = clustered_points(m, d, 16);
  for (int64_t k : {1, 128}) {
    const KnnLists got = knn_search(*b, q.data(), m, base.data(), n, d, k, false, TileShape{50, 100});
    expect_knn_matches(got, q, m, base, n, d, k, false);
  }
}

TEST(PairwiseKnn, BadInputFailsWithOneLine) {
  auto b = cpu();
  auto x = clustered_points(20, 3, 17);
  try {
    knn_search(*b, x.data(), 20, x.data(), 20, 3, 20, true);
    FAIL() << "k = n with skip_self must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only 19 rows are available"), std::string::npos) << e.what();
  }
  auto big = clustered_points(300, 3, 18);
  EXPECT_THROW(knn_search(*b, big.data(), 300, big.data(), 300, 3, 129, true), Error);
  x[7] = std::numeric_limits<float>::quiet_NaN();
  try {
    knn_search(*b, x.data(), 20, x.data(), 20, 3, 3, true);
    FAIL() << "NaN must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 2 holds a non-finite value"), std::string::npos) << e.what();
  }
}

TEST(PairwiseSums, EuclideanMatchesDoubleSums) { expect_sums_match(*cpu(), PairDistance::Euclidean, {}); }
TEST(PairwiseSums, CosineMatchesDoubleSums) { expect_sums_match(*cpu(), PairDistance::Cosine, {}); }
TEST(PairwiseSums, SmallTiles) {
  expect_sums_match(*cpu(), PairDistance::Euclidean, TileShape{17, 29});
  expect_sums_match(*cpu(), PairDistance::Cosine, TileShape{64, 7});
}

}  // namespace
}  // namespace cuvi::test
