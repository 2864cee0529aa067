// DE parity with scvi-tools on one model (tests/fixtures/de, tools/fixtures/gen_scvi_de_fixture.py):
// the scvi-tools SCVI exported to cuvi runs cuvi's DE on the same data; columns and their order,
// raw-count statistics (bit for bit), scales, LFCs, probabilities and top genes are compared.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "tests/models/test_scvi_de_util.h"
#include "tools/workflow/scvi_de.h"

namespace cuvi::test {
namespace {

using workflow::DeOptions;
using workflow::DeResult;
using workflow::ResultTable;

// Row of each gene of one comparison (by group1) of a cuvi table.
std::map<std::string, int64_t> rows_of(const ResultTable& t, const std::string& group1) {
  std::map<std::string, int64_t> m;
  const auto& g1 = t.at("group1").text;
  for (int64_t i = 0; i < t.n_rows(); ++i)
    if (g1[size_t(i)] == group1) m[t.index[size_t(i)]] = i;
  return m;
}
std::map<std::string, size_t> rows_of(const Csv& c, const std::string& group1) {
  std::map<std::string, size_t> m;
  const int g = c.col("group1");
  for (size_t i = 0; i < c.rows.size(); ++i)
    if (c.rows[i][size_t(g)] == group1) m[c.rows[i][0]] = i;
  return m;
}
double num(const Csv& c, size_t row, const std::string& col) { return std::strtod(c.rows[row][size_t(c.col(col))].c_str(), nullptr); }

DeOptions change_options() {
  DeOptions o;
  o.groupby = "cell_type";
  o.mode = "change";
  return o;
}

DeOptions vanilla_options() {
  DeOptions o;
  o.groupby = "condition";
  o.group1 = {"stim"};
  o.group2 = "ctrl";
  o.mode = "vanilla";
  o.batch_correction = true;
  return o;
}

std::vector<std::string> cuvi_columns(const ResultTable& t) {
  std::vector<std::string> v{""};
  for (const auto& c : t.columns) v.push_back(c.name);
  return v;
}

// Genes ranked by proba_de (change) or bayes_factor (vanilla), ties broken by |LFC| (|log ratio|).
std::vector<std::string> ranked(const std::vector<std::string>& genes, const std::vector<double>& key,
                                const std::vector<double>& tie) {
  std::vector<size_t> o(genes.size());
  for (size_t i = 0; i < o.size(); ++i) o[i] = i;
  std::stable_sort(o.begin(), o.end(), [&](size_t a, size_t b) {
    return key[a] != key[b] ? key[a] > key[b] : std::fabs(tie[a]) > std::fabs(tie[b]);
  });
  std::vector<std::string> r;
  for (size_t i : o) r.push_back(genes[i]);
  return r;
}

size_t overlap(const std::vector<std::string>& a, const std::vector<std::string>& b, size_t k) {
  const std::set<std::string> sa(a.begin(), a.begin() + k);
  size_t n = 0;
  for (size_t i = 0; i < k; ++i) n += sa.count(b[i]);
  return n;
}

// The raw-count columns are deterministic: cuvi follows scipy's float32 arithmetic on the CSR
// counts, so float32 columns must be equal as float32 and the float64 fractions as float64.
void expect_raw_columns_equal(const ResultTable& t, const Csv& ref, const std::string& g1) {
  const auto ours = rows_of(t, g1);
  const auto theirs = rows_of(ref, g1);
  ASSERT_EQ(ours.size(), theirs.size());
  int bad = 0;
  for (const auto& [gene, i] : ours) {
    const size_t j = theirs.at(gene);
    for (const char* c : {"raw_mean1", "raw_mean2", "raw_normalized_mean1", "raw_normalized_mean2"})
      bad += float(t.at(c).num[size_t(i)]) != float(num(ref, j, c));
    for (const char* c : {"non_zeros_proportion1", "non_zeros_proportion2"})
      bad += t.at(c).num[size_t(i)] != num(ref, j, c);
  }
  EXPECT_EQ(bad, 0) << g1 << ": raw-count values differing from scvi-tools";
}

TEST(ScviDeParity, ColumnsAndRowsMatchScviTools) {
  CUVI_REQUIRE_DE_FIXTURE();
  DeFixture f;
  const Csv change = read_csv(de_fixture("de_change_cell_type.csv"));
  const Csv vanilla = read_csv(de_fixture("de_vanilla_condition.csv"));
  DeOptions o = change_options();
  o.n_samples_overall = 200;  // structure only
  const DeResult rc = workflow::differential_expression(f.inf, o);
  EXPECT_EQ(cuvi_columns(rc.table), change.header);
  EXPECT_EQ(rc.table.n_rows(), int64_t(change.rows.size()));
  DeOptions v = vanilla_options();
  v.n_samples_overall = 200;
  const DeResult rv = workflow::differential_expression(f.inf, v);
  EXPECT_EQ(cuvi_columns(rv.table), vanilla.header);
  EXPECT_EQ(rv.table.n_rows(), int64_t(vanilla.rows.size()));
  // Comparisons in the order of the categories, each sorted by proba_de / bayes_factor descending.
  std::vector<std::string> ref_order, our_order;
  for (const auto& r : change.rows)
    if (ref_order.empty() || ref_order.back() != r[size_t(change.col("comparison"))])
      ref_order.push_back(r[size_t(change.col("comparison"))]);
  for (const auto& s : rc.table.at("comparison").text)
    if (our_order.empty() || our_order.back() != s) our_order.push_back(s);
  EXPECT_EQ(our_order, ref_order);
  const auto& p = rc.table.at("proba_de").num;
  const auto& cmp = rc.table.at("comparison").text;
  for (size_t i = 1; i < p.size(); ++i) {
    if (cmp[i] == cmp[i - 1]) {
      EXPECT_GE(p[i - 1], p[i]) << "row " << i;
    }
  }
  const auto& bf = rv.table.at("bayes_factor").num;
  for (size_t i = 1; i < bf.size(); ++i) EXPECT_GE(bf[i - 1], bf[i]) << "row " << i;
}

TEST(ScviDeParity, ChangeModeOneVsRestMatchesScviTools) {
  CUVI_REQUIRE_DE_FIXTURE();
  DeFixture f;
  const Csv ref = read_csv(de_fixture("de_change_cell_type.csv"));
  const DeResult r = workflow::differential_expression(f.inf, change_options());
  ASSERT_EQ(r.comparisons.size(), 4u);
  const ResultTable& t = r.table;
  for (const auto& cmp : r.comparisons) {
    SCOPED_TRACE(cmp.group1);
    expect_raw_columns_equal(t, ref, cmp.group1);
    const auto ours = rows_of(t, cmp.group1);
    const auto theirs = rows_of(ref, cmp.group1);
    // Scale means: each side averages n picks over k * n_cells (sample, cell) pairs drawn with
    // replacement; its variance is at most sigma^2 (1/n + 1/(k n_cells)) <= 2 sigma^2 / n (sigma:
    // spread of px_scale over cells and z). cuvi and scvi-tools are independent estimates, so their
    // difference has sd <= 2 sigma / sqrt(n); 5 sd over 800 values fails by chance with p < 1e-3.
    const double n = double(cmp.n_samples);
    ASSERT_EQ(cmp.n_samples, 5000);
    std::vector<std::string> genes;
    int bad_scale = 0;
    double worst = 0;
    for (const auto& [gene, i] : ours) {
      const size_t j = theirs.at(gene);
      genes.push_back(gene);
      const size_t g = size_t(std::find(f.inf.data.registry.genes.begin(), f.inf.data.registry.genes.end(), gene) -
                              f.inf.data.registry.genes.begin());
      for (int side = 1; side <= 2; ++side) {
        const std::string c = side == 1 ? "scale1" : "scale2";
        const double sd = (side == 1 ? cmp.scale1_sd : cmp.scale2_sd)[g];
        const double tol = 5 * 2 * sd / std::sqrt(n) + 1e-6 * std::fabs(num(ref, j, c));
        const double d = std::fabs(t.at(c).num[size_t(i)] - num(ref, j, c));
        worst = std::max(worst, d / tol);
        bad_scale += d > tol;
      }
    }
    EXPECT_EQ(bad_scale, 0) << "scale1/scale2 outside 5 Monte-Carlo sd (worst at " << worst << " of the bound)";
    // The estimated pseudocount is a 0.9-quantile of per-gene sample maxima, so it is itself random:
    // over 12 cuvi seeds its relative sd was 0.04-0.12 per comparison, and scvi-tools' value lay
    // within 0.7 sd of cuvi's mean. Bound: 5 sd of a difference of two runs, 5 sqrt(2) 0.12 in ln.
    const double pc_ref = num(ref, theirs.begin()->second, "pseudocounts");
    EXPECT_GT(cmp.pseudocounts, 0.0);
    EXPECT_LT(std::fabs(std::log(cmp.pseudocounts / pc_ref)), 5 * std::sqrt(2.0) * 0.12);
    std::printf("[ %s ] pseudocounts cuvi %.4g scvi %.4g; scale worst %.2f of the 5-sd bound\n", cmp.group1.c_str(),
                cmp.pseudocounts, pc_ref, worst);
  }
}

// With scvi-tools' own pseudocount for each comparison (so that only Monte-Carlo noise differs),
// LFC means and proba_de agree within their Monte-Carlo error and the top genes coincide.
TEST(ScviDeParity, ChangeModeLfcAndProbabilitiesMatchScviTools) {
  CUVI_REQUIRE_DE_FIXTURE();
  DeFixture f(11);
  const Csv ref = read_csv(de_fixture("de_change_cell_type.csv"));
  std::vector<std::string> groups;
  for (const auto& row : ref.rows) {
    const std::string& g = row[size_t(ref.col("group1"))];
    if (groups.empty() || groups.back() != g) groups.push_back(g);
  }
  int bad_lfc = 0, bad_p = 0;
  for (const std::string& g1 : groups) {
    SCOPED_TRACE(g1);
    const auto theirs = rows_of(ref, g1);
    DeOptions o = change_options();
    o.group1 = {g1};
    o.seed = 11;
    o.pseudocounts = num(ref, theirs.begin()->second, "pseudocounts");
    const DeResult r = workflow::differential_expression(f.inf, o);
    const ResultTable& t = r.table;
    const double n = double(r.comparisons.at(0).n_samples);
    std::vector<std::string> genes;
    std::vector<double> p_ours, p_ref, l_ours, l_ref;
    for (const auto& [gene, i] : rows_of(t, g1)) {
      const size_t j = theirs.at(gene);
      genes.push_back(gene);
      // lfc_mean: the r_i combine independent picks of both sides, so by the argument of the scale
      // test Var(mean r) <= 2 lfc_std^2 / n for each run and the difference has sd <= 2 lfc_std / sqrt(n).
      const double sd = std::max(t.at("lfc_std").num[size_t(i)], num(ref, j, "lfc_std"));
      const double dl = std::fabs(t.at("lfc_mean").num[size_t(i)] - num(ref, j, "lfc_mean"));
      bad_lfc += dl > 5 * 2 * sd / std::sqrt(n) + 1e-5;
      // proba_de: a mean of n indicators with the same pick structure: sd of the difference <=
      // 2 sqrt(p (1 - p) / n), p the mean of the two estimates, floored at 1/n.
      const double a = t.at("proba_de").num[size_t(i)], b = num(ref, j, "proba_de");
      const double pm = std::min(std::max(0.5 * (a + b), 1.0 / n), 1.0 - 1.0 / n);
      bad_p += std::fabs(a - b) > 5 * 2 * std::sqrt(pm * (1 - pm) / n);
      p_ours.push_back(a);
      p_ref.push_back(b);
      l_ours.push_back(t.at("lfc_mean").num[size_t(i)]);
      l_ref.push_back(num(ref, j, "lfc_mean"));
    }
    const auto ro = ranked(genes, p_ours, l_ours), rr = ranked(genes, p_ref, l_ref);
    const size_t top10 = overlap(ro, rr, 10), top20 = overlap(ro, rr, 20);
    std::printf("[ %s ] top-10 overlap %zu, top-20 overlap %zu\n", g1.c_str(), top10, top20);
    // Two scvi-tools replicates of this table agree on 9-10 of the top 10 and 18-19 of the top 20
    // (fit.json); cuvi vs scvi-tools, measured over seeds 1-8 and 11: 8-10 and 18-20. The bounds
    // sit one below the lowest measured value.
    EXPECT_GE(top10, 7u);
    EXPECT_GE(top20, 17u);
  }
  EXPECT_EQ(bad_lfc, 0) << "lfc_mean outside 5 Monte-Carlo sd";
  EXPECT_EQ(bad_p, 0) << "proba_de outside 5 Monte-Carlo sd";
}

TEST(ScviDeParity, VanillaBatchCorrectedMatchesScviTools) {
  CUVI_REQUIRE_DE_FIXTURE();
  DeFixture f(5);
  const Csv ref = read_csv(de_fixture("de_vanilla_condition.csv"));
  DeOptions o = vanilla_options();
  o.seed = 5;
  const DeResult r = workflow::differential_expression(f.inf, o);
  ASSERT_EQ(r.comparisons.size(), 1u);
  const auto& cmp = r.comparisons[0];
  EXPECT_EQ(cmp.n_samples, 5000);  // 2 batches x 2500
  expect_raw_columns_equal(r.table, ref, "stim");
  const auto theirs = rows_of(ref, "stim");
  const double n = double(cmp.n_samples);
  int bad_scale = 0, bad_p = 0;
  std::vector<std::string> genes;
  std::vector<double> bo, br, lo, lr;
  for (const auto& [gene, i] : rows_of(r.table, "stim")) {
    const size_t j = theirs.at(gene);
    const size_t g = size_t(std::find(f.inf.data.registry.genes.begin(), f.inf.data.registry.genes.end(), gene) -
                            f.inf.data.registry.genes.begin());
    // With batch correction each batch contributes n/2 picks; the per-batch bound 2 sigma_b^2/(n/2)
    // averaged over the two halves is again <= 2 sigma^2 / n with sigma the pooled spread.
    for (int side = 1; side <= 2; ++side) {
      const std::string c = side == 1 ? "scale1" : "scale2";
      const double sd = (side == 1 ? cmp.scale1_sd : cmp.scale2_sd)[g];
      bad_scale += std::fabs(r.table.at(c).num[size_t(i)] - num(ref, j, c)) >
                   5 * 2 * sd / std::sqrt(n) + 1e-6 * std::fabs(num(ref, j, c));
    }
    const double a = r.table.at("proba_m1").num[size_t(i)], b = num(ref, j, "proba_m1");
    const double pm = std::min(std::max(0.5 * (a + b), 1.0 / n), 1.0 - 1.0 / n);
    bad_p += std::fabs(a - b) > 5 * 2 * std::sqrt(pm * (1 - pm) / n);
    EXPECT_DOUBLE_EQ(r.table.at("proba_m2").num[size_t(i)], 1.0 - a);
    genes.push_back(gene);
    bo.push_back(r.table.at("bayes_factor").num[size_t(i)]);
    br.push_back(num(ref, j, "bayes_factor"));
    lo.push_back(std::log(r.table.at("scale1").num[size_t(i)] / r.table.at("scale2").num[size_t(i)]));
    lr.push_back(std::log(num(ref, j, "scale1") / num(ref, j, "scale2")));
  }
  EXPECT_EQ(bad_scale, 0);
  EXPECT_EQ(bad_p, 0);
  const auto ro = ranked(genes, bo, lo), rr = ranked(genes, br, lr);
  const size_t top10 = overlap(ro, rr, 10), top20 = overlap(ro, rr, 20);
  std::printf("[ stim vs ctrl ] vanilla top-10 overlap %zu, top-20 overlap %zu\n", top10, top20);
  // Measured over seeds 1-10: 8-9 of the top 10 and 20 of the top 20 (genes 9-11 have nearly equal
  // bayes_factor); bounds one below the minimum.
  EXPECT_GE(top10, 7u);
  EXPECT_GE(top20, 19u);
}

}  // namespace
}  // namespace cuvi::test
