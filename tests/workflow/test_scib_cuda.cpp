// The Benchmarker on the CUDA backend (label gpu): neighbour search, silhouette sums, kBET's diffusion-map
// neighbours and k-means assignments run on the device; every metric agrees with the CPU backend's table.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "tests/workflow/scib_fixture.h"

namespace cuvi::test {
namespace {

TEST(ScibCuda, BenchmarkMatchesCpu) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const ScibDataset ds("cellbench");
  const std::vector<workflow::Embedding> one = {ds.embeddings.back()};  // X_center
  auto gpu = make_cuda_backend(1);
  auto cpu = make_cpu_backend(1);
  const workflow::BenchmarkTable g = workflow::run_benchmark(*gpu, ds.data, one);
  const workflow::BenchmarkTable c = workflow::run_benchmark(*cpu, ds.data, one);
  ASSERT_EQ(g.metrics, c.metrics);
  for (size_t m = 0; m < g.metrics.size(); ++m) {
    // Same neighbours and partitions (k-means: same seeding, same assignments); silhouettes from float32
    // distance sums of a few hundred terms, on either backend within 1e-4 of each other.
    EXPECT_NEAR(g.values[0][m], c.values[0][m], 1e-4) << g.metrics[m];
    if (g.metrics[m].rfind("KMeans", 0) != 0) {  // k-means' reference draws differ (seed-range tests)
      EXPECT_NEAR(g.values[0][m], ds.reference("exact", "X_center", g.metrics[m]), 1e-3) << g.metrics[m];
    }
  }
}

}  // namespace
}  // namespace cuvi::test
