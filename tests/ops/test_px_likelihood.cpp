// px_log_prob in evaluation mode (i0 = 1) on the CPU reference: the same value, no backward.
#include "tests/ops/cuda_backends.h"
#include "tests/ops/px_value_only_check.h"

namespace cuvi::test {
namespace {

TEST(PxLogProb, ValueOnlyForwardMatchesAndRefusesBackward) { check_px_value_only(cpu_backend()); }

}  // namespace
}  // namespace cuvi::test
