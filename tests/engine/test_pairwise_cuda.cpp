// The CUDA pairwise kernels (label gpu) against the same double-precision brute force as the CPU ones, and
// against the CPU backend: k-NN lists (tile boundaries, duplicates, k = 1 and 128), per-segment sums.
#include <gtest/gtest.h>

#include <memory>

#include "engine/pairwise.h"
#include "tests/engine/pairwise_test_util.h"

namespace cuvi::test {
namespace {

std::unique_ptr<Backend> cuda() {
  return cuda_device_available() ? make_cuda_backend(1) : nullptr;
}

TEST(PairwiseKnnCuda, MatchesBruteForceAndCpu) {
  auto g = cuda();
  if (!g) GTEST_SKIP() << "no CUDA device";
  auto c = make_cpu_backend(1);
  const int64_t n = 300, d = 11;
  auto x = clustered_points(n, d, 21);
  for (int64_t r = 1; r < 3; ++r) std::copy(&x[0], &x[size_t(d)], &x[size_t(r * 100 * d)]);  // ties at distance 0
  for (int64_t k : {1, 9, 128}) {
    for (TileShape t : {TileShape{}, TileShape{33, 70}}) {
      const KnnLists got = knn_search(*g, x.data(), n, x.data(), n, d, k, true, t);
      expect_knn_matches(got, x, n, x, n, d, k, true);
      const KnnLists ref = knn_search(*c, x.data(), n, x.data(), n, d, k, true, t);
      int64_t differ = 0;
      for (size_t e = 0; e < got.indices.size(); ++e) differ += got.indices[e] != ref.indices[e];
      EXPECT_LE(differ, int64_t(got.indices.size()) / 100) << "k " << k << ": CPU and CUDA lists disagree widely";
      if (k > 1) {
        EXPECT_EQ(got.indices[0], 100);  // row 0's duplicates, by index
      }
    }
  }
}

TEST(PairwiseKnnCuda, QueriesApartFromBase) {
  auto g = cuda();
  if (!g) GTEST_SKIP() << "no CUDA device";
  const int64_t n = 257, m = 61, d = 5;
  const auto base = clustered_points(n, d, 22), q = clustered_points(m, d, 23);
  const KnnLists got = knn_search(*g, q.data(), m, base.data(), n, d, 17, false, TileShape{16, 100});
  expect_knn_matches(got, q, m, base, n, d, 17, false);
}

TEST(PairwiseSumsCuda, MatchesDoubleSums) {
  auto g = cuda();
  if (!g) GTEST_SKIP() << "no CUDA device";
  expect_sums_match(*g, PairDistance::Euclidean, {});
  expect_sums_match(*g, PairDistance::Cosine, {});
  expect_sums_match(*g, PairDistance::Euclidean, TileShape{17, 29});
  expect_sums_match(*g, PairDistance::Cosine, TileShape{64, 7});
}

}  // namespace
}  // namespace cuvi::test
