// Epoch metric sums (accumulate_sums, read by the trainer once per epoch) on the CPU backend: kept in
// double, so a long epoch's small per-step sums are not lost on a large total.
#include "tests/engine/metric_sums_check.h"
#include "tests/ops/cuda_backends.h"

namespace cuvi::test {
namespace {

TEST(MetricSums, SmallStepSumsOntoLargeTotalAllCount) { check_metric_sums_keep_small_terms(cpu_backend()); }

}  // namespace
}  // namespace cuvi::test
