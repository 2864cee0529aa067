// px_log_prob in evaluation mode (i0 = 1) on the CUDA backend (label gpu): the same value, no backward.
#include "tests/ops/cuda_backends.h"
#include "tests/ops/px_value_only_check.h"

namespace cuvi::test {
namespace {

TEST(PxLogProbCuda, ValueOnlyForwardMatchesAndRefusesBackward) {
  if (!cuda_backend()) GTEST_SKIP() << "no CUDA device";
  check_px_value_only(*cuda_backend());
}

}  // namespace
}  // namespace cuvi::test
