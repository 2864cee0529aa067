// DE edge cases on the fixture model: a one-cell group, unknown / empty / repeated groups, a
// single-category column, an all-zero gene, every group against a fixed group2, and the uns copy.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "io/dataset.h"
#include "io/h5ad_writer.h"
#include "tests/models/test_scvi_de_util.h"
#include "tools/workflow/output.h"
#include "tools/workflow/scvi_de.h"

namespace cuvi::test {
namespace {

using workflow::DeOptions;

// A copy of the fixture data with obs['grp'] (cell 0 "solo", then "a" / "b" halves, and an unused
// category "empty") and obs['one'] (a single category).
std::string edge_data() {
  const std::string path = ::testing::TempDir() + "/cuvi_de_edges.h5ad";
  if (std::filesystem::exists(path)) return path;
  const io::Dataset d = io::load_dataset(de_fixture("data.h5ad"));
  const int64_t R = d.counts.n_rows;
  io::Categorical grp;
  grp.categories = {"a", "b", "empty", "solo"};
  for (int64_t i = 0; i < R; ++i) grp.codes.push_back(i == 0 ? 3 : (i < R / 2 ? 0 : 1));
  io::Categorical one;
  one.categories = {"x"};
  one.codes.assign(size_t(R), 0);
  io::H5adWriter w = io::H5adWriter::copy_of(de_fixture("data.h5ad"), path + ".part");
  w.add_obs_column(io::Column::categorical("grp", grp));
  w.add_obs_column(io::Column::categorical("one", one));
  w.commit();
  std::filesystem::rename(path + ".part", path);
  return path;
}

struct EdgeFixture {
  std::unique_ptr<Backend> backend = make_cpu_backend(0, 1);
  workflow::ScviInference inf;
  EdgeFixture() { inf = workflow::open_scvi_inference(de_fixture("model.cuvi"), edge_data(), *backend, 0, 128); }
};

std::string error_of(workflow::ScviInference& inf, const DeOptions& o) {
  try {
    workflow::differential_expression(inf, o);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

DeOptions opts(const std::string& groupby, std::vector<std::string> g1 = {}, std::string g2 = "",
               std::string mode = "change") {
  DeOptions o;
  o.groupby = groupby;
  o.group1 = std::move(g1);
  o.group2 = std::move(g2);
  o.mode = std::move(mode);
  o.n_samples_overall = 500;
  return o;
}

TEST(ScviDeEdges, OneCellGroupIsAllowed) {
  CUVI_REQUIRE_DE_FIXTURE();
  EdgeFixture f;
  const workflow::DeResult r = workflow::differential_expression(f.inf, opts("grp", {"solo"}));
  ASSERT_EQ(r.comparisons.size(), 1u);
  EXPECT_EQ(r.comparisons[0].n_cells1, 1);
  EXPECT_EQ(r.comparisons[0].n_cells2, f.inf.data.data.counts.n_rows - 1);
  // k = 500 // 1 + 1 posterior samples of the single cell: its 500 picks are mostly distinct z.
  EXPECT_GT(r.n_scale_evaluations, 300);
  const io::CsrMatrix& m = f.inf.data.data.counts;
  std::map<std::string, int64_t> g_of;
  for (size_t g = 0; g < f.inf.data.registry.genes.size(); ++g) g_of[f.inf.data.registry.genes[g]] = int64_t(g);
  std::vector<float> cell0(size_t(m.n_cols), 0.f);
  for (int64_t k = m.indptr[0]; k < m.indptr[1]; ++k) cell0[size_t(m.indices[size_t(k)])] = m.data[size_t(k)];
  const auto& t = r.table;
  for (int64_t i = 0; i < t.n_rows(); ++i) {
    const float x = cell0[size_t(g_of.at(t.index[size_t(i)]))];
    EXPECT_EQ(float(t.at("raw_mean1").num[size_t(i)]), x);  // x * float32(1/1)
    EXPECT_EQ(t.at("non_zeros_proportion1").num[size_t(i)], x != 0 ? 1.0 : 0.0);
    EXPECT_TRUE(std::isfinite(t.at("lfc_mean").num[size_t(i)]));
    EXPECT_GE(t.at("proba_de").num[size_t(i)], 0.0);
    EXPECT_LE(t.at("proba_de").num[size_t(i)], 1.0);
  }
}

// --delta auto (scvi-tools' delta=None): each comparison gets one estimated threshold in its delta
// column, and the table equals a run given that threshold as a number (same samples, same seed).
TEST(ScviDeEdges, AutoDeltaIsEstimatedPerComparison) {
  CUVI_REQUIRE_DE_FIXTURE();
  EdgeFixture f;
  DeOptions o = opts("grp", {"a", "b"});
  o.delta.reset();
  const workflow::DeResult r = workflow::differential_expression(f.inf, o);
  ASSERT_EQ(r.comparisons.size(), 2u);
  const auto& t = r.table;
  const auto& delta = t.at("delta").num;
  const auto& comparison = t.at("comparison").text;
  std::map<std::string, double> per_comparison;
  for (int64_t i = 0; i < t.n_rows(); ++i) {
    auto [it, fresh] = per_comparison.emplace(comparison[size_t(i)], delta[size_t(i)]);
    if (!fresh) {
      EXPECT_EQ(it->second, delta[size_t(i)]) << "delta varies within " << it->first;
    }
  }
  ASSERT_EQ(per_comparison.size(), 2u);
  for (const auto& [name, d] : per_comparison) {
    EXPECT_GE(d, 0.1) << name;  // min_thres
    EXPECT_LT(d, 10.0) << name;
  }
  o.group1 = {"a"};
  const workflow::DeResult auto_a = workflow::differential_expression(f.inf, o);
  DeOptions fixed = opts("grp", {"a"});
  fixed.delta = auto_a.table.at("delta").num.at(0);
  const workflow::DeResult fixed_a = workflow::differential_expression(f.inf, fixed);
  EXPECT_EQ(auto_a.table.at("delta").num, fixed_a.table.at("delta").num);
  EXPECT_EQ(auto_a.table.at("proba_de").num, fixed_a.table.at("proba_de").num);
  EXPECT_EQ(auto_a.table.index, fixed_a.table.index);
  EXPECT_NE(*fixed.delta, 0.25);  // the estimate is not the default in disguise
}

TEST(ScviDeEdges, UnknownEmptyAndRepeatedGroupsAreErrors) {
  CUVI_REQUIRE_DE_FIXTURE();
  EdgeFixture f;
  std::string e = error_of(f.inf, opts("grp", {"nope"}));
  EXPECT_NE(e.find("'nope' is not a category of obs['grp']"), std::string::npos) << e;
  EXPECT_NE(e.find("a, b, empty, solo"), std::string::npos) << e;
  e = error_of(f.inf, opts("grp", {"a"}, "nope"));
  EXPECT_NE(e.find("--group2 'nope'"), std::string::npos) << e;
  e = error_of(f.inf, opts("grp", {"empty"}));
  EXPECT_NE(e.find("'empty' has no cells"), std::string::npos) << e;
  e = error_of(f.inf, opts("grp", {"a"}, "a"));
  EXPECT_NE(e.find("--group1 and --group2 are both 'a'"), std::string::npos) << e;
  e = error_of(f.inf, opts("one"));
  EXPECT_NE(e.find("single group"), std::string::npos) << e;
  e = error_of(f.inf, opts("no_such_column"));
  EXPECT_NE(e.find("no_such_column"), std::string::npos) << e;
  DeOptions bad = opts("grp", {"a"});
  bad.mode = "bayes";
  EXPECT_NE(error_of(f.inf, bad).find("--mode"), std::string::npos);
}

TEST(ScviDeEdges, AllGroupsSkipEmptyCategoriesAndFixedGroup2) {
  CUVI_REQUIRE_DE_FIXTURE();
  EdgeFixture f;
  const workflow::DeResult all = workflow::differential_expression(f.inf, opts("grp", {}, "", "vanilla"));
  ASSERT_EQ(all.comparisons.size(), 3u);  // a, b, solo vs Rest; "empty" skipped with a note
  EXPECT_EQ(all.notes.size(), 1u);
  EXPECT_EQ(all.comparisons[2].group1, "solo");
  EXPECT_EQ(all.comparisons[2].group2, "Rest");
  const workflow::DeResult vs_b = workflow::differential_expression(f.inf, opts("grp", {}, "b", "vanilla"));
  ASSERT_EQ(vs_b.comparisons.size(), 2u);  // a vs b, solo vs b
  EXPECT_EQ(vs_b.comparisons[0].group1, "a");
  EXPECT_EQ(vs_b.comparisons[1].group1, "solo");
  EXPECT_EQ(vs_b.table.at("comparison").text[0], "a vs b");
  // The "b" side is drawn once and shared: 2 comparisons need 3 groups' draws, not 4.
  const workflow::DeResult one = workflow::differential_expression(f.inf, opts("grp", {"a"}, "b", "vanilla"));
  EXPECT_LT(vs_b.n_scale_evaluations, 2 * one.n_scale_evaluations);
}

TEST(ScviDeEdges, AllZeroGeneHasAWellDefinedRow) {
  CUVI_REQUIRE_DE_FIXTURE();
  EdgeFixture f;
  const io::CsrMatrix& m = f.inf.data.data.counts;
  std::vector<double> colsum(size_t(m.n_cols), 0.0);
  for (int64_t k = 0; k < m.nnz(); ++k) colsum[size_t(m.indices[size_t(k)])] += m.data[size_t(k)];
  std::string zero_gene;
  for (size_t g = 0; g < colsum.size(); ++g)
    if (colsum[g] == 0) zero_gene = f.inf.data.registry.genes[g];
  ASSERT_FALSE(zero_gene.empty()) << "the fixture data has an all-zero gene";
  for (const char* mode : {"change", "vanilla"}) {
    const workflow::DeResult r = workflow::differential_expression(f.inf, opts("cell_type", {"B cells"}, "", mode));
    const auto& t = r.table;
    int64_t row = -1;
    for (int64_t i = 0; i < t.n_rows(); ++i)
      if (t.index[size_t(i)] == zero_gene) row = i;
    ASSERT_GE(row, 0);
    for (const char* c : {"raw_mean1", "raw_mean2", "non_zeros_proportion1", "non_zeros_proportion2",
                          "raw_normalized_mean1", "raw_normalized_mean2"})
      EXPECT_EQ(t.at(c).num[size_t(row)], 0.0) << c;
    for (const auto& col : t.columns) {
      if (col.kind != workflow::ResultColumn::Text) {
        EXPECT_TRUE(std::isfinite(col.num[size_t(row)])) << col.name;
      }
    }
  }
}

TEST(ScviDeEdges, TableGoesIntoTheUnsOfACopy) {
  CUVI_REQUIRE_DE_FIXTURE();
  EdgeFixture f;
  const workflow::DeResult r = workflow::differential_expression(f.inf, opts("grp", {"a"}, "b"));
  const std::string out = ::testing::TempDir() + "/cuvi_de_uns.h5ad";
  {
    io::H5adWriter w = workflow::open_result_file(f.inf.data, out);
    w.add_uns_dataframe("differential_expression", workflow::to_dataframe(r.table));
    w.commit();
  }
  const io::Node root = io::Node::root(io::H5File::open_read(out));
  const io::Node df = root.open("uns/differential_expression");
  EXPECT_EQ(df.encoding_type(), "dataframe");
  const std::vector<std::string> order = df.attr_strings("column-order");
  std::vector<std::string> names;
  for (const auto& c : r.table.columns) names.push_back(c.name);
  EXPECT_EQ(order, names);
  EXPECT_EQ(df.open("proba_de").length(), r.table.n_rows());
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace cuvi::test
