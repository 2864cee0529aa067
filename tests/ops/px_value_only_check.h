// Shared body of the px_log_prob evaluation-mode tests (CPU and, label gpu, CUDA): with i0 = 1 the forward
// gives the same log-likelihood as with gradients, and a backward after it is refused with a message.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/ops/harness.h"

namespace cuvi::test {

inline void check_px_value_only(Backend& backend) {
  const OpDef& op = cuvi::op("px_log_prob");
  for (const OpCaseRef& c : all_op_cases()) {
    if (c.op != &op) continue;
    auto inputs = make_inputs(op, c.tc, 51);
    round_to_f32(inputs);
    const RunResult full = run_op(backend, op, c.tc, inputs, DType::F32);
    TestCase value_only = c.tc;
    value_only.p.i[0] = 1;
    const RunResult v = run_op(backend, op, value_only, inputs, DType::F32);
    ASSERT_TRUE(v.guards_intact) << v.guard_report;
    ASSERT_EQ(full.out[0].v.size(), v.out[0].v.size());
    for (size_t n = 0; n < v.out[0].v.size(); ++n) EXPECT_EQ(v.out[0].v[n], full.out[0].v[n]) << c.id << " row " << n;
    const auto w = random_like(v.out, 3);
    std::string message;
    try {
      run_op(backend, op, value_only, inputs, DType::F32, &w);
    } catch (const Error& e) {
      message = e.what();
    }
    EXPECT_NE(message.find("without gradients"), std::string::npos) << c.id << ": " << message;
  }
}

}  // namespace cuvi::test
