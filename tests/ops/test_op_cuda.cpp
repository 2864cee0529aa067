// Registry-wide CPU-vs-CUDA checks (ctest label gpu): forward, backward, NaN/Inf parity and guard
// regions for every op and test case. Skips, not fails, where no CUDA device is present.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/cuda_backends.h"
#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

class OpCuda : public ::testing::TestWithParam<OpCaseRef> {
 protected:
  void SetUp() override {
    if (!cuda_backend()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_P(OpCuda, ForwardAndBackwardMatchCpuReference) {
  const OpCaseRef& c = GetParam();
  auto inputs = make_inputs(*c.op, c.tc, 45);
  round_to_f32(inputs);
  const RunResult ref0 = run_op(cpu_backend(), *c.op, c.tc, inputs, DType::F32);
  const auto w = random_like(ref0.out, 80);
  const auto* dout = c.op->grad_check ? &w : nullptr;
  const RunResult ref = run_op(cpu_backend(), *c.op, c.tc, inputs, DType::F32, dout);
  const RunResult got = run_op(*cuda_backend(), *c.op, c.tc, inputs, DType::F32, dout);
  ASSERT_TRUE(got.guards_intact) << got.guard_report;
  const Tolerance tol = tolerance_for(c.op->tol, c.tc.reduction);
  for (size_t j = 0; j < ref.out.size(); ++j) {
    const std::string e = compare(ref.out[j], got.out[j], tol, c.id + " output " + std::to_string(j));
    EXPECT_TRUE(e.empty()) << e;
  }
  for (size_t i = 0; i < ref.mutated.size(); ++i) {
    if (!ref.mutated[i].present) continue;
    const std::string e = compare(ref.mutated[i], got.mutated[i], tol, c.id + " updated input " + std::to_string(i));
    EXPECT_TRUE(e.empty()) << e;
  }
  for (size_t i = 0; i < ref.d_in.size(); ++i) {
    if (!ref.d_in[i].present) continue;
    const std::string e = compare(ref.d_in[i], got.d_in[i], tol, c.id + " gradient of input " + std::to_string(i));
    EXPECT_TRUE(e.empty()) << e;
  }
}

TEST_P(OpCuda, NanAndInfPropagateLikeCpu) {
  const OpCaseRef& c = GetParam();
  auto inputs = make_inputs(*c.op, c.tc, 46);
  round_to_f32(inputs);
  for (auto& h : inputs)
    if (h.present && h.dtype == DType::F32 && !h.v.empty()) {
      h.v[0] = NAN;
      if (h.v.size() > 2) h.v[h.v.size() / 2] = INFINITY;
    }
  const RunResult ref = run_op(cpu_backend(), *c.op, c.tc, inputs, DType::F32);
  const RunResult got = run_op(*cuda_backend(), *c.op, c.tc, inputs, DType::F32);
  for (size_t j = 0; j < ref.out.size(); ++j)
    for (size_t k = 0; k < ref.out[j].v.size(); ++k) {
      const double a = ref.out[j].v[k], b = got.out[j].v[k];
      ASSERT_EQ(std::isnan(a), std::isnan(b)) << c.id << " output " << j << " element " << k << ": cpu " << a
                                              << " cuda " << b;
      if (std::isinf(a) || std::isinf(b)) {
        ASSERT_EQ(a, b) << c.id << " output " << j << " element " << k;
      }
    }
}

INSTANTIATE_TEST_SUITE_P(Registry, OpCuda, ::testing::ValuesIn(all_op_cases()),
                         [](const ::testing::TestParamInfo<OpCaseRef>& i) { return gtest_name(i.param.id); });

}  // namespace
}  // namespace cuvi::test
