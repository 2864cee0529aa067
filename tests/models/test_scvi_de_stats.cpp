// DE statistics without a model (tools/workflow/scvi_de_stats, result_table): expected values are
// numpy / scipy / scvi-tools outputs computed once in Python for the same small inputs, or exact
// values of inputs built from powers of two.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/models/test_scvi_de_util.h"
#include "tools/workflow/result_table.h"
#include "tools/workflow/de_stats.h"

namespace cuvi::workflow {
namespace {

PairedScales pairs_of(const std::vector<float>& a, const std::vector<float>& b, int64_t G) {
  PairedScales p;
  p.G = G;
  for (size_t i = 0; i * G < a.size(); ++i) {
    p.s1.push_back(a.data() + i * G);
    p.s2.push_back(b.data() + i * G);
  }
  return p;
}

TEST(ScviDeStats, QuantileIsNumpyLinear) {
  // np.quantile([3,1,4,1,5,9,2,6], 0.9) = 6.8999999999999995, 0.75 -> 5.25; [0.5, 0.25] at 0.9 -> 0.475.
  EXPECT_EQ(quantile_linear({3, 1, 4, 1, 5, 9, 2, 6}, 0.9), 6.8999999999999995);
  EXPECT_EQ(quantile_linear({3, 1, 4, 1, 5, 9, 2, 6}, 0.75), 5.25);
  EXPECT_EQ(quantile_linear({0.5, 0.25}, 0.9), 0.475);
  EXPECT_EQ(quantile_linear({7.0}, 0.9), 7.0);
}

TEST(ScviDeStats, FdrFlagsAsScviTools) {
  // scvi's _fdr_de_prediction on [0.99, 0.5, 0.97, 0.9, 0.2, 0.97].
  const std::vector<double> p{0.99, 0.5, 0.97, 0.9, 0.2, 0.97};
  EXPECT_EQ(fdr_de_prediction(p, 0.05), (std::vector<bool>{true, false, true, true, false, true}));
  EXPECT_EQ(fdr_de_prediction(p, 0.2), (std::vector<bool>{true, true, true, true, false, true}));
}

// scvi-tools' estimate_delta (delta=None) over 20 sklearn seeds gives a range per input
// (tools/fixtures/gen_delta_fixture.py); cuvi's deterministic fit must land in it, widened by 1% of
// delta: sklearn stops EM at a log-likelihood change below 1e-3, which leaves that much play.
TEST(ScviDeStats, EstimatedDeltaLiesInScviToolsSeedRange) {
  const std::string path = test::de_fixture("estimate_delta.json");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << path;
  const std::string json = test::read_text(path);
  for (const char* name : {"comparison0", "comparison1", "comparison2", "comparison3", "mixture"}) {
    const std::string n(name);
    const std::vector<double> x = test::json_numbers(json, n + "_lfc_means");
    ASSERT_GE(x.size(), 100u) << n;
    const double lo = test::json_numbers(json, n + "_sklearn_min").at(0);
    const double hi = test::json_numbers(json, n + "_sklearn_max").at(0);
    const double d = estimate_delta(x);
    std::printf("[ delta ] %s: cuvi %.4f, scvi-tools seeds %.4f .. %.4f\n", name, d, lo, hi);
    EXPECT_GE(d, lo * 0.99) << n;
    EXPECT_LE(d, hi * 1.01) << n;
  }
  // Below min_thres (0.1) the threshold is min_thres; one mode only still gives a number.
  EXPECT_EQ(estimate_delta({-0.01, 0.0, 0.01, 0.02, -0.02, 0.005}), 0.1);
  EXPECT_THROW(estimate_delta({0.5, 1.0}), Error);
  EXPECT_THROW(estimate_delta({0.5, NAN, 1.0, 2.0}), Error);
}

TEST(ScviDeStats, VanillaCountsStrictWins) {
  // Gene 0: s1 > s2 in 3 of 4 pairs (one tie); gene 1: never.
  const std::vector<float> a{2, 1, 3, 1, 1, 1, 5, 1}, b{1, 2, 1, 2, 1, 2, 4, 2};
  const VanillaStats v = vanilla_stats(pairs_of(a, b, 2));
  EXPECT_EQ(v.proba_m1[0], 0.75);
  EXPECT_EQ(v.proba_m2[0], 0.25);
  EXPECT_EQ(v.proba_m1[1], 0.0);
  EXPECT_DOUBLE_EQ(v.bayes_factor[0], std::log(0.75 + 1e-8) - std::log(0.25 + 1e-8));
  EXPECT_DOUBLE_EQ(v.bayes_factor[1], std::log(1e-8) - std::log(1.0 + 1e-8));
}

TEST(ScviDeStats, ChangeModeOnExactRatios) {
  // Ratios 2, 1/2, 1, 4 -> r = 1, -1, 0, 2 exactly (pseudocount 0).
  const std::vector<float> a{2, 0.5f, 1, 4}, b{1, 1, 1, 1};
  const ChangeStats c = change_stats(pairs_of(a, b, 1), 0.0, 0.25, 0.0);
  EXPECT_EQ(c.proba_m1[0], 0.5);   // r >= 0.25: 1, 2
  EXPECT_EQ(c.proba_m2[0], 0.25);  // r < -0.25: -1
  EXPECT_EQ(c.proba_de[0], 0.5);
  EXPECT_EQ(c.proba_not_de[0], 0.5);
  EXPECT_EQ(c.lfc_mean[0], 0.5);
  EXPECT_EQ(c.lfc_median[0], 0.5);  // mean of the middle values 0 and 1
  EXPECT_DOUBLE_EQ(c.lfc_std[0], std::sqrt(1.25));
  EXPECT_EQ(c.lfc_min[0], -1.0);
  EXPECT_EQ(c.lfc_max[0], 2.0);
  const ChangeStats two = change_stats(pairs_of(a, b, 1), 0.0, 0.25, 0.0, true);
  EXPECT_EQ(two.proba_de[0], 0.75);
  // delta is inclusive on the up side (r >= delta) and strict on the down side (r < -delta).
  const ChangeStats edge = change_stats(pairs_of(a, b, 1), 0.0, 1.0, 0.0);
  EXPECT_EQ(edge.proba_m1[0], 0.5);
  EXPECT_EQ(edge.proba_m2[0], 0.0);
  // Odd n: the median is the middle value.
  const std::vector<float> a3{2, 0.5f, 4}, b3{1, 1, 1};
  EXPECT_EQ(change_stats(pairs_of(a3, b3, 1), 0.0, 0.25, 0.0).lfc_median[0], 1.0);
}

TEST(ScviDeStats, PseudocountsAsScviTools) {
  // (6, 5) float32 samples per side and zero masks; scvi's estimate_pseudocounts_offset returned
  // np.float32(0.0001886712) here, and float64 1e-10 with no zero gene on either side.
  const std::vector<float> a{
      8.564916788600385e-05f,  0.0002368105051573366f,  0.0008012744365260005f,  0.000582162057980895f,
      9.412864164914936e-05f,  0.00043312693014740944f, 0.00047905129031278193f, 0.0001597389200469479f,
      0.000734577130060643f,   0.00011367201659595594f, 0.0003912281827069819f,  0.0005167401977814734f,
      0.00043062801705673337f, 0.0005867985892109573f,  0.0007378378068096936f,  0.0009562672348693013f,
      0.00028420117450878024f, 0.0006485471967607737f,  0.0006962160114198923f,  0.0002927207387983799f,
      1.4900834912623395e-06f, 0.0009734602645039558f,  0.0002984012244269252f,  0.00031398600549437106f,
      0.0008917110972106457f,  0.0005851629539392889f,  0.00047130967141129076f, 0.00077327701728791f,
      3.0346007406478748e-05f, 0.0007069651037454605f};
  const std::vector<float> b{
      0.00037424382753670216f, 9.085271449293941e-05f,  0.0006605000817216933f,  0.0009314638446085155f,
      0.000207191173103638f,   0.0006300901877693832f,  0.0002981630968861282f,  0.0007417566957883537f,
      0.0007221648120321333f,  0.00021871543140150607f, 0.0008298868779093027f,  0.000657652213703841f,
      0.0006827989127486944f,  0.0008200757438316941f,  0.00042857290827669203f, 0.0007587054860778153f,
      0.00087848020484671f,    0.00010231992200715467f, 0.0008497683447785676f,  0.0003939273301512003f,
      0.00047968392027541995f, 0.00014633456885349005f, 0.0006984263309277594f,  0.00029197862022556365f,
      0.0008711391710676253f,  0.0002753743901848793f,  0.0005618096911348403f,  0.0003996562154497951f,
      0.0006129094981588423f,  0.00019663924467749894f};
  const PairedScales p = pairs_of(a, b, 5);
  const double pc = estimate_pseudocounts(p, {true, false, true, false, true}, {false, false, false, true, false});
  EXPECT_EQ(float(pc), 0.0001886712f);
  EXPECT_EQ(estimate_pseudocounts(p, std::vector<bool>(5, false), std::vector<bool>(5, false)), 1e-10);
}

// 5 cells x 5 genes (gene 3 never expressed, cell 4 empty); groups {0, 2, 3} and {1}. Expected:
// scvi-tools' scrna_raw_counts_properties with the counts stored as scipy CSR, and as a dense array.
// Compared bit for bit on purpose: the point is that cuvi reproduces numpy's and scipy's float32
// summation orders exactly (the sparse and dense expectations differ in the last bit).
TEST(ScviDeStats, RawCountStatisticsAsScviTools) {
  const float X[5][5] = {{1, 0, 3, 0, 2}, {2, 5, 0, 0, 0}, {0, 1, 7, 0, 9}, {4, 0, 0, 0, 1}, {0, 0, 0, 0, 0}};
  io::CsrMatrix m;
  m.n_rows = 5;
  m.n_cols = 5;
  m.indptr.push_back(0);
  for (auto& row : X) {
    for (int g = 0; g < 5; ++g)
      if (row[g] != 0) {
        m.indices.push_back(g);
        m.data.push_back(row[g]);
      }
    m.indptr.push_back(int64_t(m.data.size()));
  }
  const std::vector<float> totals = float32_totals(m);
  const RawStats s = raw_counts_properties(m, {0, 2, 3}, totals, true);
  const std::vector<float> mean_sparse{1.6666667461395264f, 0.3333333432674408f, 3.3333334922790527f, 0.f, 4.f};
  const std::vector<float> norm_sparse{3222.222412109375f, 196.07843017578125f, 3039.2158203125f, 0.f,
                                       3542.48388671875f};
  const std::vector<double> nz{0.6666666666666666, 0.3333333333333333, 0.6666666666666666, 0.0, 1.0};
  for (int g = 0; g < 5; ++g) {
    EXPECT_EQ(float(s.raw_mean[g]), mean_sparse[g]) << g;
    EXPECT_EQ(float(s.raw_normalized_mean[g]), norm_sparse[g]) << g;
    EXPECT_EQ(s.non_zeros_proportion[g], nz[g]) << g;
  }
  const RawStats d = raw_counts_properties(m, {0, 2, 3}, totals, false);
  const std::vector<float> mean_dense{1.6666666269302368f, 0.3333333432674408f, 3.3333332538604736f, 0.f, 4.f};
  const std::vector<float> norm_dense{3222.222412109375f, 196.07843017578125f, 3039.215576171875f, 0.f,
                                      3542.483642578125f};
  for (int g = 0; g < 5; ++g) {
    EXPECT_EQ(float(d.raw_mean[g]), mean_dense[g]) << g;
    EXPECT_EQ(float(d.raw_normalized_mean[g]), norm_dense[g]) << g;
    EXPECT_EQ(d.non_zeros_proportion[g], nz[g]) << g;
  }
  const RawStats two = raw_counts_properties(m, {1}, totals, true);
  EXPECT_EQ(float(two.raw_normalized_mean[0]), 2857.14306640625f);
  EXPECT_EQ(float(two.raw_normalized_mean[1]), 7142.857421875f);
  // A group holding the empty cell: numpy's dense arithmetic gives 0 * inf = NaN, scipy skips it.
  EXPECT_TRUE(std::isnan(raw_counts_properties(m, {0, 4}, totals, false).raw_normalized_mean[0]));
  EXPECT_EQ(float(raw_counts_properties(m, {0, 4}, totals, true).raw_normalized_mean[3]), 0.f);
  EXPECT_EQ(low_mean_genes(m, {0, 2, 3}, 0.01), (std::vector<bool>{false, false, false, true, false}));
}

TEST(ScviDeStats, PythonFloatRepr) {
  EXPECT_EQ(python_float_repr(0.05), "0.05");
  EXPECT_EQ(python_float_repr(1e-5), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(1.0), "1.0");
  EXPECT_EQ(python_float_repr(-2.5), "-2.5");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(123456789.0), "123456789.0");
  EXPECT_EQ(python_float_repr(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(python_float_repr(1.0 / 3, true), "0.33333334");
  EXPECT_EQ(python_float_repr(0.1, true), "0.1");
  EXPECT_EQ(python_float_repr(1.0 - 0.9976), "0.0023999999999999577");
  EXPECT_EQ(python_float_repr(2.5e-7, true), "2.5e-07");
}

TEST(ScviDeStats, CsvQuotesLikePandas) {
  ResultTable t;
  t.index = {"A,B", "plain"};
  t.add("x", ResultColumn::F64).num = {0.5, NAN};
  t.add("flag", ResultColumn::Bool).num = {1, 0};
  t.add("say \"hi\"", ResultColumn::Text).text = {"a\"b", "c"};
  EXPECT_EQ(to_csv(t), ",x,flag,\"say \"\"hi\"\"\"\n\"A,B\",0.5,True,\"a\"\"b\"\nplain,,False,c\n");
  const test::Csv back = test::parse_csv(to_csv(t));
  EXPECT_EQ(back.header.back(), "say \"hi\"");
  EXPECT_EQ(back.rows[0][0], "A,B");
}

}  // namespace
}  // namespace cuvi::workflow
