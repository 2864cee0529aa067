// Shared body of the epoch-metric accumulator tests (CPU and, label gpu, CUDA): many small per-step
// sums onto a large running total must all count, which the f64 accumulator guarantees and a float
// one (ulp 128 at 2^30) does not.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/ops/harness.h"

namespace cuvi::test {

inline void check_metric_sums_keep_small_terms(Backend& backend) {
  const OpDef& op = cuvi::op("accumulate_sums");
  TestCase tc{"epoch", {{64}, {64}, {}, {}, {4}}, {uniform(), uniform(), absent(), absent(), uniform_f64(0, 1)}, {}, 64};
  std::vector<HostTensor> in = make_inputs(op, tc, 3);
  round_to_f32(in);
  // Per step: 64 cells of 1/64 in metric 0 (sum 1) and of 3/64 in metric 1 (sum 3), onto 2^30.
  for (double& v : in[0].v) v = 1.0 / 64;
  for (double& v : in[1].v) v = 3.0 / 64;
  const double start = 1073741824.0;  // 2^30
  in[4].v.assign(4, start);
  in[4].v[3] = 0.0;
  const int steps = 500;
  for (int s = 0; s < steps; ++s) {
    const RunResult r = run_op(backend, op, tc, in, DType::F32);
    ASSERT_TRUE(r.guards_intact) << r.guard_report;
    ASSERT_TRUE(r.mutated[4].present);
    in[4].v = r.mutated[4].v;
  }
  // Every partial sum is an exact binary fraction well inside double's 53 bits: the totals are exact.
  EXPECT_EQ(in[4].v[0], start + steps * 1.0);
  EXPECT_EQ(in[4].v[1], start + steps * 3.0);
  EXPECT_EQ(in[4].v[2], start);  // absent vector: untouched
  EXPECT_EQ(in[4].v[3], 0.0);
  // What a float accumulator would have kept: 2^30 + 1 and 2^30 + 3 round back to 2^30 every step.
  float f = float(start);
  for (int s = 0; s < steps; ++s) f = float(double(f) + 1.0);
  EXPECT_EQ(double(f), start);
}

}  // namespace cuvi::test
