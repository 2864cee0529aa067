// Semantics of op "mha" on the CPU reference (spec/mrvi.md §1 AttentionBlock steps 2-3): agreement
// with an independently written per-head composition, softmax rows, the dropout multiplier, key and
// query permutations, and the key bias having no effect (why its gradient is an exact zero).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

enum : int { kQIn, kKvIn, kWq, kBq, kWk, kBk, kWv, kBv, kWo, kBo, kKeep };

struct Sizes {
  int64_t B, T, Dq, Dkv, H, d, Do;
  int64_t HD() const { return H * d; }
};

class AttentionSemantics : public ::testing::Test {
 protected:
  static Backend& cpu() {
    static std::unique_ptr<Backend> b = make_cpu_backend(1234, 2);
    return *b;
  }
  const OpDef& mha() { return op("mha"); }

  // A case with every input present; keep starts as all ones.
  TestCase make_case(const Sizes& s) {
    TestCase tc;
    tc.label = "semantics";
    const int64_t HD = s.HD();
    tc.shapes = {{s.B, s.T, s.Dq}, {s.B, s.T, s.Dkv}, {s.Dq, HD}, {HD}, {s.Dkv, HD}, {HD}, {s.Dkv, HD}, {HD},
                 {HD, s.Do},       {s.Do},            {s.B, s.H, s.T, s.T}};
    tc.gens = {uniform(-2, 2), uniform(-2, 2), uniform(), uniform(), uniform(), uniform(),
               uniform(),      uniform(),      uniform(), uniform(), constant(1.0)};
    tc.p.i[0] = s.H;
    return tc;
  }

  RunResult forward(const TestCase& tc, const std::vector<HostTensor>& in) {
    return run_op(cpu(), mha(), tc, in, DType::F64);
  }
};

// y and P computed head by head from explicit per-head matrices, softmax as exp(l - logsumexp(l)).
// skip_key >= 0 leaves that key out of every context sum (its probability still counts in the
// normalisation), which is what a zero dropout multiplier on that key means.
struct Composition {
  std::vector<double> y, probs;
};
Composition compose(const Sizes& s, const std::vector<HostTensor>& in, int64_t skip_key = -1) {
  const int64_t HD = s.HD();
  Composition r;
  r.y.assign(s.B * s.T * s.Do, 0.0);
  r.probs.assign(s.B * s.H * s.T * s.T, 0.0);
  const auto& x = in[kQIn].v;
  const auto& z = in[kKvIn].v;
  const bool has_keep = in[kKeep].present;
  for (int64_t b = 0; b < s.B; ++b) {
    std::vector<std::vector<double>> heads_out(s.T, std::vector<double>(HD, 0.0));
    for (int64_t h = 0; h < s.H; ++h) {
      using Mat = std::vector<std::vector<double>>;
      Mat Qh(s.T, std::vector<double>(s.d)), Kh = Qh, Vh = Qh;
      for (int64_t t = 0; t < s.T; ++t)
        for (int64_t k = 0; k < s.d; ++k) {
          const int64_t col = h * s.d + k;
          double q = in[kBq].v[col], kk = in[kBk].v[col], v = in[kBv].v[col];
          for (int64_t a = 0; a < s.Dq; ++a) q += x[(b * s.T + t) * s.Dq + a] * in[kWq].v[a * HD + col];
          for (int64_t a = 0; a < s.Dkv; ++a) {
            kk += z[(b * s.T + t) * s.Dkv + a] * in[kWk].v[a * HD + col];
            v += z[(b * s.T + t) * s.Dkv + a] * in[kWv].v[a * HD + col];
          }
          Qh[t][k] = q;
          Kh[t][k] = kk;
          Vh[t][k] = v;
        }
      for (int64_t i = 0; i < s.T; ++i) {
        std::vector<double> logit(s.T);
        for (int64_t j = 0; j < s.T; ++j) {
          double dot = 0;
          for (int64_t k = 0; k < s.d; ++k) dot += Qh[i][k] * Kh[j][k];
          logit[j] = dot / std::sqrt(double(s.d));
        }
        const double top = *std::max_element(logit.begin(), logit.end());
        double se = 0;
        for (double l : logit) se += std::exp(l - top);
        const double lse = top + std::log(se);
        for (int64_t j = 0; j < s.T; ++j) {
          const int64_t pi = ((b * s.H + h) * s.T + i) * s.T + j;
          const double p = std::exp(logit[j] - lse);
          r.probs[pi] = p;
          if (j == skip_key) continue;
          const double a = has_keep ? p * in[kKeep].v[pi] : p;
          for (int64_t k = 0; k < s.d; ++k) heads_out[i][h * s.d + k] += a * Vh[j][k];
        }
      }
    }
    for (int64_t t = 0; t < s.T; ++t)
      for (int64_t o = 0; o < s.Do; ++o) {
        double acc = in[kBo].v[o];
        for (int64_t c = 0; c < HD; ++c) acc += heads_out[t][c] * in[kWo].v[c * s.Do + o];
        r.y[(b * s.T + t) * s.Do + o] = acc;
      }
  }
  return r;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t k = 0; k < std::min(a.size(), b.size()); ++k) m = std::max(m, std::fabs(a[k] - b[k]));
  return m;
}

const Sizes kSizes{3, 6, 2, 3, 2, 3, 5};

TEST_F(AttentionSemantics, MatchesPerHeadCompositionWithoutDropout) {
  TestCase tc = make_case(kSizes);
  tc.gens[kKeep] = absent();
  const auto in = make_inputs(mha(), tc, 11);
  const RunResult r = forward(tc, in);
  const Composition c = compose(kSizes, in);
  EXPECT_LT(max_abs_diff(r.out[0].v, c.y), 1e-12);
  EXPECT_LT(max_abs_diff(r.aux[1].v, c.probs), 1e-14);
}

TEST_F(AttentionSemantics, MatchesPerHeadCompositionWithDropoutMultipliers) {
  TestCase tc = make_case(kSizes);
  tc.gens[kKeep] = binary(0.7);
  auto in = make_inputs(mha(), tc, 12);
  for (auto& k : in[kKeep].v) k /= 0.7;  // 0 or 1 / (1 - p) with p = 0.3
  const RunResult r = forward(tc, in);
  const Composition c = compose(kSizes, in);
  EXPECT_LT(max_abs_diff(r.out[0].v, c.y), 1e-12);
  // The saved probabilities are the softmax before dropout.
  EXPECT_LT(max_abs_diff(r.aux[1].v, c.probs), 1e-14);
  TestCase plain = tc;
  plain.gens[kKeep] = absent();
  auto in_plain = in;
  in_plain[kKeep].present = false;
  EXPECT_GT(max_abs_diff(forward(plain, in_plain).out[0].v, r.out[0].v), 1e-3) << "dropout had no effect";
}

TEST_F(AttentionSemantics, SoftmaxRowsSumToOne) {
  TestCase tc = make_case(kSizes);
  const RunResult r = forward(tc, make_inputs(mha(), tc, 13));
  const auto& p = r.aux[1].v;
  for (int64_t row = 0; row < kSizes.B * kSizes.H * kSizes.T; ++row) {
    double sum = 0;
    for (int64_t j = 0; j < kSizes.T; ++j) {
      const double v = p[row * kSizes.T + j];
      EXPECT_GT(v, 0.0);
      EXPECT_LT(v, 1.0);
      sum += v;
    }
    EXPECT_NEAR(sum, 1.0, 1e-14) << "row " << row;
  }
}

TEST_F(AttentionSemantics, KeepOfOnesWithZeroDropChangesNothing) {
  TestCase tc = make_case(kSizes);
  tc.gens[kKeep] = constant(1.0 / (1.0 - 0.0));
  const auto in = make_inputs(mha(), tc, 14);
  TestCase plain = tc;
  plain.gens[kKeep] = absent();
  auto in_plain = in;
  in_plain[kKeep].present = false;
  const RunResult with = forward(tc, in), without = forward(plain, in_plain);
  // Multiplying by a keep of exactly 1 is exact, but the compiler may contract or vectorise the two loop
  // versions differently: agreement to a few double ulps of each entry's magnitude, not bit for bit.
  auto expect_same = [](const std::vector<double>& a, const std::vector<double>& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    double scale = 0;
    for (double v : b) scale = std::max(scale, std::abs(v));
    const double tol = 16 * std::numeric_limits<double>::epsilon() * scale;
    for (size_t k = 0; k < a.size(); ++k) ASSERT_NEAR(a[k], b[k], tol) << what << " element " << k;
  };
  expect_same(with.out[0].v, without.out[0].v, "y");
  // Gradients agree as well.
  const auto w = random_like(with.out, 5);
  const RunResult gw = run_op(cpu(), mha(), tc, in, DType::F64, &w);
  const RunResult gp = run_op(cpu(), mha(), plain, in_plain, DType::F64, &w);
  for (int i = 0; i < kKeep; ++i) expect_same(gw.d_in[i].v, gp.d_in[i].v, "gradient of input " + std::to_string(i));
}

TEST_F(AttentionSemantics, ZeroKeepOnOneKeyRemovesItsContribution) {
  const int64_t key = 2;
  TestCase tc = make_case(kSizes);
  auto in = make_inputs(mha(), tc, 15);
  const RunResult full = forward(tc, in);
  for (int64_t b = 0; b < kSizes.B; ++b)
    for (int64_t h = 0; h < kSizes.H; ++h)
      for (int64_t i = 0; i < kSizes.T; ++i) in[kKeep].v[((b * kSizes.H + h) * kSizes.T + i) * kSizes.T + key] = 0.0;
  const RunResult dropped = forward(tc, in);
  const Composition c = compose(kSizes, in, key);
  EXPECT_LT(max_abs_diff(dropped.out[0].v, c.y), 1e-12);
  EXPECT_GT(max_abs_diff(dropped.out[0].v, full.out[0].v), 1e-3) << "the dropped key contributed nothing before";
  // The saved context is sum_{j != key} P_ij V_j: the key's value vector is gone, its probability stays.
  const auto& qkv = dropped.aux[0].v;
  const auto& ctx = dropped.aux[2].v;
  const auto& p = dropped.aux[1].v;
  const int64_t HD = kSizes.HD(), Q3 = 3 * HD;
  for (int64_t b = 0; b < kSizes.B; ++b)
    for (int64_t i = 0; i < kSizes.T; ++i)
      for (int64_t c2 = 0; c2 < HD; ++c2) {
        const int64_t h = c2 / kSizes.d, prow = ((b * kSizes.H + h) * kSizes.T + i) * kSizes.T;
        double expect = 0;
        for (int64_t j = 0; j < kSizes.T; ++j)
          if (j != key) expect += p[prow + j] * qkv[(b * kSizes.T + j) * Q3 + 2 * HD + c2];
        ASSERT_NEAR(ctx[(b * kSizes.T + i) * HD + c2], expect, 1e-13);
      }
}

TEST_F(AttentionSemantics, PermutingKeysChangesNothingAndPermutingQueriesPermutesRows) {
  TestCase tc = make_case(kSizes);
  tc.gens[kKeep] = absent();
  const auto in = make_inputs(mha(), tc, 16);
  const RunResult base = forward(tc, in);
  const std::vector<int64_t> perm = {4, 0, 5, 2, 1, 3};  // new token t takes old token perm[t]
  const int64_t T = kSizes.T, Do = kSizes.Do;

  auto kv = in;
  for (int64_t b = 0; b < kSizes.B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t a = 0; a < kSizes.Dkv; ++a)
        kv[kKvIn].v[(b * T + t) * kSizes.Dkv + a] = in[kKvIn].v[(b * T + perm[t]) * kSizes.Dkv + a];
  EXPECT_LT(max_abs_diff(forward(tc, kv).out[0].v, base.out[0].v), 1e-12);

  auto q = in;
  for (int64_t b = 0; b < kSizes.B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t a = 0; a < kSizes.Dq; ++a)
        q[kQIn].v[(b * T + t) * kSizes.Dq + a] = in[kQIn].v[(b * T + perm[t]) * kSizes.Dq + a];
  const RunResult permuted = forward(tc, q);
  for (int64_t b = 0; b < kSizes.B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < Do; ++o)
        ASSERT_NEAR(permuted.out[0].v[(b * T + t) * Do + o], base.out[0].v[(b * T + perm[t]) * Do + o], 1e-12)
            << "b " << b << " t " << t << " o " << o;
  EXPECT_GT(max_abs_diff(permuted.out[0].v, base.out[0].v), 1e-3) << "query permutation left y unchanged";
}

TEST_F(AttentionSemantics, KeyBiasHasNoEffectAndZeroGradient) {
  TestCase tc = make_case(kSizes);
  tc.gens[kKeep] = binary(0.8);
  const auto in = make_inputs(mha(), tc, 17);
  auto shifted = in;
  for (auto& v : shifted[kBk].v) v += 0.7;
  const RunResult a = forward(tc, in), b = forward(tc, shifted);
  EXPECT_LT(max_abs_diff(a.out[0].v, b.out[0].v), 1e-12);
  const auto w = random_like(a.out, 6);
  const RunResult g = run_op(cpu(), mha(), tc, in, DType::F64, &w);
  for (double v : g.d_in[kBk].v) EXPECT_EQ(v, 0.0);
}

TEST_F(AttentionSemantics, ShapeRuleRejectsMismatchedInputs) {
  TestCase tc = make_case(kSizes);
  tc.shapes[kBo] = {kSizes.Do + 1};
  EXPECT_THROW(forward(tc, make_inputs(mha(), tc, 18)), Error);
  TestCase heads = make_case(kSizes);
  heads.p.i[0] = 4;  // 6 projection columns do not split into 4 heads
  EXPECT_THROW(forward(heads, make_inputs(mha(), heads, 19)), Error);
}

}  // namespace
}  // namespace cuvi::test
