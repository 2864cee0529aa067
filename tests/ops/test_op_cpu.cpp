// Registry-wide CPU checks for every op and test case: gradient against central finite differences
// in double, accumulate mode, f32 against f64, guard regions. No op can skip them.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

class OpCpu : public ::testing::TestWithParam<OpCaseRef> {
 protected:
  static Backend& cpu() {
    static std::unique_ptr<Backend> b = make_cpu_backend(1234, 2);
    return *b;
  }
};

TEST_P(OpCpu, GradientMatchesFiniteDifferences) {
  const OpCaseRef& c = GetParam();
  if (!c.op->grad_check) GTEST_SKIP() << c.op->name << " has no gradient";
  auto inputs = make_inputs(*c.op, c.tc, 42);
  const RunResult base = run_op(cpu(), *c.op, c.tc, inputs, DType::F64);
  const auto w = random_like(base.out, 77);
  const RunResult an = run_op(cpu(), *c.op, c.tc, inputs, DType::F64, &w);
  ASSERT_TRUE(an.guards_intact) << an.guard_report;
  double lscale = 0;
  for (size_t j = 0; j < base.out.size(); ++j)
    if (w[j].present)
      for (size_t k = 0; k < base.out[j].v.size(); ++k) lscale += std::fabs(base.out[j].v[k] * w[j].v[k]);
  int checked = 0;
  for (int i = 0; i < c.op->n_in; ++i) {
    if (!((c.op->diff_inputs >> i) & 1u) || !inputs[i].present) continue;
    const size_t n = inputs[i].v.size();
    const size_t stride = std::max<size_t>(1, n / 48);
    for (size_t k = 0; k < n; k += stride) {
      const double x0 = inputs[i].v[k];
      const double h = 1e-6 * std::max(1.0, std::fabs(x0));
      inputs[i].v[k] = x0 + h;
      const double lp = weighted_sum(run_op(cpu(), *c.op, c.tc, inputs, DType::F64).out, w);
      inputs[i].v[k] = x0 - h;
      const double lm = weighted_sum(run_op(cpu(), *c.op, c.tc, inputs, DType::F64).out, w);
      inputs[i].v[k] = x0;
      const double fd = (lp - lm) / (2 * h);
      const double g = an.d_in[i].v[k];
      const double tol = 2e-6 * std::max(1.0, std::max(std::fabs(g), std::fabs(fd))) + 8 * 2.2e-16 * lscale / h;
      ASSERT_NEAR(g, fd, tol) << c.id << ": d/d input " << i << " element " << k << " (x = " << x0 << ")";
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << c.id << " has no differentiable input in this case";
}

TEST_P(OpCpu, BackwardAccumulatesIntoExistingGradient) {
  const OpCaseRef& c = GetParam();
  if (!c.op->grad_check) GTEST_SKIP() << c.op->name << " has no gradient";
  auto inputs = make_inputs(*c.op, c.tc, 43);
  const RunResult base = run_op(cpu(), *c.op, c.tc, inputs, DType::F64);
  const auto w = random_like(base.out, 78);
  const RunResult fresh = run_op(cpu(), *c.op, c.tc, inputs, DType::F64, &w);
  std::vector<HostTensor> init(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    init[i] = inputs[i];
    for (auto& x : init[i].v) x = 0.375;
  }
  const RunResult accd = run_op(cpu(), *c.op, c.tc, inputs, DType::F64, &w, &init);
  for (int i = 0; i < c.op->n_in; ++i) {
    if (!fresh.d_in[i].present) continue;
    for (size_t k = 0; k < fresh.d_in[i].v.size(); ++k)
      ASSERT_NEAR(accd.d_in[i].v[k], fresh.d_in[i].v[k] + 0.375, 1e-9 * (1 + std::fabs(fresh.d_in[i].v[k])))
          << c.id << ": input " << i << " element " << k << " did not accumulate";
  }
}

TEST_P(OpCpu, Float32AgreesWithFloat64) {
  const OpCaseRef& c = GetParam();
  auto inputs = make_inputs(*c.op, c.tc, 44);
  round_to_f32(inputs);
  const RunResult ref = run_op(cpu(), *c.op, c.tc, inputs, DType::F64);
  const auto w = random_like(ref.out, 79);
  const RunResult r64 = run_op(cpu(), *c.op, c.tc, inputs, DType::F64, c.op->grad_check ? &w : nullptr);
  const RunResult r32 = run_op(cpu(), *c.op, c.tc, inputs, DType::F32, c.op->grad_check ? &w : nullptr);
  ASSERT_TRUE(r32.guards_intact) << r32.guard_report;
  const Tolerance tol = tolerance_for(c.op->tol == Tol::Exact ? Tol::Elementwise : c.op->tol, c.tc.reduction);
  for (size_t j = 0; j < r64.out.size(); ++j) {
    const std::string e = compare(r64.out[j], r32.out[j], tol, c.id + " output " + std::to_string(j));
    EXPECT_TRUE(e.empty()) << e;
  }
  for (size_t i = 0; i < r64.mutated.size(); ++i) {
    if (!r64.mutated[i].present) continue;
    const std::string e = compare(r64.mutated[i], r32.mutated[i], tol, c.id + " updated input " + std::to_string(i));
    EXPECT_TRUE(e.empty()) << e;
  }
  for (size_t i = 0; i < r64.d_in.size(); ++i) {
    if (!r64.d_in[i].present) continue;
    const std::string e = compare(r64.d_in[i], r32.d_in[i], tol, c.id + " gradient of input " + std::to_string(i));
    EXPECT_TRUE(e.empty()) << e;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, OpCpu, ::testing::ValuesIn(all_op_cases()),
                         [](const ::testing::TestParamInfo<OpCaseRef>& i) { return gtest_name(i.param.id); });

#ifdef CUVI_CPU_ONLY
constexpr bool kCudaBuild = false;  // a CPU-only build compiles no CUDA adapters
#else
constexpr bool kCudaBuild = true;
#endif

TEST(Registry, EveryOpIsComplete) {
  ASSERT_FALSE(registry().all().empty());
  const char* cuda_problem = kCudaBuild ? ": missing CUDA " : ": a CUDA adapter in a CPU-only build, ";
  for (const OpDef* d : registry().all()) {
    EXPECT_TRUE(d->cpu_fwd_f32 && d->cpu_fwd_f64) << d->name << ": missing CPU reference forward";
    EXPECT_EQ(d->cuda_fwd != nullptr, kCudaBuild) << d->name << cuda_problem << "forward";
    if (d->grad_check) {
      EXPECT_TRUE(d->cpu_bwd_f32 && d->cpu_bwd_f64) << d->name << ": missing CPU reference backward";
      EXPECT_EQ(d->cuda_bwd != nullptr, kCudaBuild) << d->name << cuda_problem << "backward";
      EXPECT_NE(d->diff_inputs, 0u) << d->name << ": no differentiable input";
    }
    EXPECT_TRUE(d->flops && d->bytes) << d->name << ": missing FLOP/byte counts";
    ASSERT_TRUE(d->test_cases) << d->name << ": no test cases";
    EXPECT_GE(d->test_cases().size(), 2u) << d->name << ": fewer than two test shapes";
    EXPECT_TRUE(d->bench_cases) << d->name << ": no bench shapes";
  }
}

}  // namespace
}  // namespace cuvi::test
