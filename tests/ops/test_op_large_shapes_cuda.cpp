// Registry cases grown past the loop and tile bounds of the CUDA kernels (grid-stride iterations, capped
// grid dimensions, several shared-memory tiles), CPU reference vs CUDA, in the emulator's small-shape budget.
#include <gtest/gtest.h>

#include "tests/ops/cuda_backends.h"
#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

struct Grown {
  const char* id;      // registered case "op/label"
  std::vector<int> inputs;  // inputs whose leading dimension becomes `rows`
  int64_t rows;
  int64_t reduction;   // longest reduction of the grown case
  const char* why;
};

const Grown kGrown[] = {
    {"mha/scalar_tokens_dropout", {0, 1, 10}, 2050, 2050 * 5,
     "B > kMhaMaxBlocks: the fused kernels loop over batch elements, partials reduce 2048 rows"},
    {"embedding/many_categories", {1}, 700, 700, "N > kCodeTile: the table gradient stages three code tiles"},
    {"embedding/small", {1}, 70000, 70000, "N > 65535: the lookup's grid.y is capped and loops"},
    {"mul/full", {0, 1}, 70000, 1, "N > 65535 rows in the 2-D elementwise grid"},
    {"sum_cols/tall", {0}, 70000, 70000, "column sums over many row groups; the backward's capped grid.y"},
    {"layernorm/per_category", {0, 3}, 1000, 1000, "per-category affine gradients over many rows"},
    {"batchnorm/training_tall", {0}, 3000, 3000, "column statistics over many row groups"},
    {"nb_log_prob/gene_theta", {0, 1}, 200, 200, "many likelihood tiles reduced into a per-gene theta gradient"},
    {"px_log_prob/zinb_gene_theta", {0, 1, 2, 4}, 300, 300, "the per-gene px_r gradient summed over many rows"},
    {"px_log_prob/zinb_head_biases", {0, 1, 2, 4}, 300, 300, "the heads' bias gradients summed over many rows"},
    {"elbo_mean/warmup_with_kl_l", {0, 1, 2}, 3000, 3000, "the single-block loss over many cells"},
};

class LargeShapesCuda : public ::testing::TestWithParam<Grown> {};

TEST_P(LargeShapesCuda, MatchesCpuReference) {
  if (!cuda_backend()) GTEST_SKIP() << "no CUDA device";
  const Grown& g = GetParam();
  const OpCaseRef* base = nullptr;
  static const std::vector<OpCaseRef> all = all_op_cases();
  for (const OpCaseRef& c : all)
    if (c.id == g.id) base = &c;
  ASSERT_NE(base, nullptr) << g.id << " is not a registered test case";
  TestCase tc = base->tc;
  for (int i : g.inputs) tc.shapes[i].d[0] = g.rows;
  tc.reduction = g.reduction;
  auto inputs = make_inputs(*base->op, tc, 49);
  round_to_f32(inputs);
  const RunResult fwd = run_op(cpu_backend(), *base->op, tc, inputs, DType::F32);
  const auto w = random_like(fwd.out, 83);
  const auto* dout = base->op->grad_check ? &w : nullptr;
  const RunResult ref = run_op(cpu_backend(), *base->op, tc, inputs, DType::F32, dout);
  const RunResult got = run_op(*cuda_backend(), *base->op, tc, inputs, DType::F32, dout);
  ASSERT_TRUE(got.guards_intact) << got.guard_report;
  const Tolerance tol = tolerance_for(base->op->tol, tc.reduction);
  const std::string what = std::string(g.id) + " grown (" + g.why + ")";
  for (size_t j = 0; j < ref.out.size(); ++j) {
    const std::string e = compare(ref.out[j], got.out[j], tol, what + " output " + std::to_string(j));
    EXPECT_TRUE(e.empty()) << e;
  }
  for (size_t i = 0; i < ref.d_in.size(); ++i) {
    if (!ref.d_in[i].present) continue;
    const std::string e = compare(ref.d_in[i], got.d_in[i], tol, what + " gradient of input " + std::to_string(i));
    EXPECT_TRUE(e.empty()) << e;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, LargeShapesCuda, ::testing::ValuesIn(kGrown),
                         [](const ::testing::TestParamInfo<Grown>& i) { return gtest_name(i.param.id); });

}  // namespace
}  // namespace cuvi::test
