// Epoch metric sums (accumulate_sums) on the CUDA backend (label gpu): the f64 device accumulator keeps
// every per-step sum of a long epoch.
#include "tests/engine/metric_sums_check.h"
#include "tests/ops/cuda_backends.h"

namespace cuvi::test {
namespace {

TEST(MetricSumsCuda, SmallStepSumsOntoLargeTotalAllCount) {
  if (!cuda_backend()) GTEST_SKIP() << "no CUDA device";
  check_metric_sums_keep_small_terms(*cuda_backend());
}

}  // namespace
}  // namespace cuvi::test
