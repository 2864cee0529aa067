// The neighbourhood-correlation metric (regularizedvi.md §2) against regularizedvi.plt on the fixture's data and
// scanpy connectivities: every per-cell column, the headline summary and composite score; masks and the
// covariate-hierarchy check on a hand-made graph.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/error.h"
#include "io/anndata.h"
#include "tests/workflow/neighbourhood_fixture.h"
#include "tools/workflow/neighbourhood_correlation.h"
#include "tools/workflow/result_table.h"

namespace cuvi::test {
namespace {

std::vector<int32_t> codes_of(const io::AnnDataFile& f, const std::string& key) { return f.obs().find(key)->cat.codes; }

workflow::NeighbourhoodCovariates fixture_covariates(const io::AnnDataFile& f) {
  workflow::NeighbourhoodCovariates c;
  c.library_key = "library";
  c.library = codes_of(f, "library");
  c.dataset_key = "dataset";
  c.dataset = codes_of(f, "dataset");
  c.technical_keys = {"kit", "embryo"};
  c.technical = {codes_of(f, "kit"), codes_of(f, "embryo")};
  return c;
}

TEST(NeighbourhoodCorrelation, MatchesRegularizedviOnScanpyConnectivities) {
  const std::string data = neighbourhood_fixture("data.h5ad");
  if (!std::filesystem::exists(data)) GTEST_SKIP() << "fixture absent: " << data;
  const io::AnnDataFile f = io::AnnDataFile::open(data);
  const io::CsrMatrix counts = f.read_matrix("X");
  const io::CsrMatrix conn = f.read_obsp("connectivities");
  std::vector<int32_t> markers;
  for (int32_t g = 0; g < int32_t(counts.n_cols); g += 2) markers.push_back(g);  // markers.txt: every other gene
  const auto cov = fixture_covariates(f);
  const workflow::ResultTable cells = workflow::marker_correlation(counts, markers, conn, cov, f.obs().index);
  expect_tables_match(parse_csv(workflow::to_csv(cells)), read_csv(neighbourhood_fixture("cells.csv")),
                      correlation_tolerance(int64_t(markers.size())));

  const workflow::ResultTable summary = workflow::summarise_marker_correlation(cells, cov);
  const Csv ref = read_csv(neighbourhood_fixture("summary.csv"));
  ASSERT_EQ(summary.index.size(), ref.rows.size());
  for (size_t r = 0; r < ref.rows.size(); ++r) {
    EXPECT_EQ(summary.index[r], ref.rows[r][0]);
    const double want = csv_number(ref.rows[r][1]);
    // isolation norms: exact counts; the rest: medians and weighted means of correlations (overlaps: bin counts)
    EXPECT_NEAR(summary.columns[0].num[r], want, correlation_tolerance(int64_t(markers.size())) * std::max(1.0, std::abs(want)))
        << ref.rows[r][0];
  }
}

// Four cells in a ring, libraries {0, 0, 1, 1} in datasets {0, 0, 0, 1}; the fourth cell is its own dataset.
TEST(NeighbourhoodCorrelation, MasksSplitTheGraph) {
  io::CsrMatrix conn;
  conn.n_rows = conn.n_cols = 4;
  conn.indptr = {0, 3, 5, 7, 9};
  conn.indices = {0, 1, 3, 0, 2, 1, 3, 0, 2};  // cell 0 lists itself: dropped
  conn.data = {1.f, .5f, .25f, .5f, .75f, .75f, 1.f, .25f, 1.f};
  workflow::NeighbourhoodCovariates c;
  c.library_key = "lib";
  c.library = {0, 0, 1, 1};
  c.dataset_key = "ds";
  c.dataset = {0, 0, 0, 1};
  c.technical_keys = {"kit"};
  c.technical = {{0, 1, 0, 1}};
  const auto names = workflow::active_masks(c);
  const std::vector<std::string> want{"same_library", "between_libraries", "cross_library", "cross_dataset",
                                      "within_kit", "between_kit", "cross_technical"};
  ASSERT_EQ(names, want);
  const auto masks = workflow::neighbour_masks(conn, c);
  auto entries = [](const io::CsrMatrix& m) {
    std::vector<std::pair<int, int>> e;
    for (int64_t i = 0; i < m.n_rows; ++i)
      for (int64_t q = m.indptr[size_t(i)]; q < m.indptr[size_t(i + 1)]; ++q) e.emplace_back(int(i), m.indices[size_t(q)]);
    return e;
  };
  using E = std::vector<std::pair<int, int>>;
  EXPECT_EQ(entries(masks[0]), (E{{0, 1}, {1, 0}, {2, 3}, {3, 2}}));
  EXPECT_EQ(entries(masks[1]), (E{{0, 3}, {1, 2}, {2, 1}, {3, 0}}));
  EXPECT_EQ(entries(masks[2]), (E{{1, 2}, {2, 1}}));  // other library, same dataset
  EXPECT_EQ(entries(masks[3]), (E{{0, 3}, {2, 3}, {3, 0}, {3, 2}}));
  EXPECT_EQ(entries(masks[4]), (E{}));               // ring neighbours always differ in kit
  EXPECT_EQ(entries(masks[6]), entries(masks[5]));   // one key: cross_technical = between_kit
  EXPECT_EQ(masks[3].data[0], .25f);                 // weights kept
}

TEST(NeighbourhoodCorrelation, LibrarySpanningDatasetsIsAnError) {
  workflow::NeighbourhoodCovariates c;
  c.library_key = "lib";
  c.library = {0, 0, 1};
  c.dataset_key = "ds";
  c.dataset = {0, 1, 1};
  try {
    workflow::validate_covariate_hierarchy(c, {"L0", "L1"}, {"A", "B"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("library 'L0'"), std::string::npos) << e.what();
  }
  c.library = {0, -1, 1};  // missing values are ignored
  EXPECT_NO_THROW(workflow::validate_covariate_hierarchy(c, {"L0", "L1"}, {"A", "B"}));
}

}  // namespace
}  // namespace cuvi::test
