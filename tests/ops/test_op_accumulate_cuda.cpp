// Registry-wide CPU-vs-CUDA check of the backward mode test_op_cuda.cpp leaves out: accumulate, where input
// gradients start from given values and the op adds to them (the tape's mode for a tensor with several uses).
#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/cuda_backends.h"
#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

class BackwardModesCuda : public ::testing::TestWithParam<OpCaseRef> {
 protected:
  void SetUp() override {
    if (!cuda_backend()) GTEST_SKIP() << "no CUDA device";
    if (!GetParam().op->grad_check) GTEST_SKIP() << "no backward";
  }
  // Gradient buffers of every differentiable input, filled with values to accumulate onto.
  std::vector<HostTensor> initial_grads(const std::vector<HostTensor>& inputs) {
    const OpDef& op = *GetParam().op;
    std::vector<HostTensor> init(op.n_in);
    for (int i = 0; i < op.n_in; ++i) {
      if (!((op.diff_inputs >> i) & 1u) || !inputs[i].present) continue;
      init[i] = inputs[i];
      init[i].dtype = DType::F32;
      for (size_t k = 0; k < init[i].v.size(); ++k) init[i].v[k] = double(float(0.5 - 0.013 * double(k % 77)));
    }
    return init;
  }
  void compare_grads(const RunResult& ref, const RunResult& got, const std::string& mode) {
    const OpCaseRef& c = GetParam();
    ASSERT_TRUE(got.guards_intact) << got.guard_report;
    const Tolerance tol = tolerance_for(c.op->tol, c.tc.reduction);
    for (size_t i = 0; i < ref.d_in.size(); ++i) {
      if (!ref.d_in[i].present) continue;
      const std::string e = compare(ref.d_in[i], got.d_in[i], tol, c.id + " " + mode + " gradient of input " +
                                                                       std::to_string(i));
      EXPECT_TRUE(e.empty()) << e;
    }
  }
};

TEST_P(BackwardModesCuda, AccumulateMatchesCpuReference) {
  const OpCaseRef& c = GetParam();
  auto inputs = make_inputs(*c.op, c.tc, 47);
  round_to_f32(inputs);
  const RunResult fwd = run_op(cpu_backend(), *c.op, c.tc, inputs, DType::F32);
  const auto w = random_like(fwd.out, 81);
  const auto init = initial_grads(inputs);
  const RunResult ref = run_op(cpu_backend(), *c.op, c.tc, inputs, DType::F32, &w, &init);
  const RunResult got = run_op(*cuda_backend(), *c.op, c.tc, inputs, DType::F32, &w, &init);
  compare_grads(ref, got, "accumulated");
}

INSTANTIATE_TEST_SUITE_P(Registry, BackwardModesCuda, ::testing::ValuesIn(all_op_cases()),
                         [](const ::testing::TestParamInfo<OpCaseRef>& i) { return gtest_name(i.param.id); });

}  // namespace
}  // namespace cuvi::test
