// The neighbourhood-correlation metric on real data (CellBench CEL-seq2 + Drop-seq, ../shared/data): cuvi's
// marker choice (--n-markers), k-NN graph and connectivities, and per-cell correlations and headline against
// regularizedvi.plt on the same embedding (tests/fixtures/neighbourhood_correlation/cellbench_*.csv).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "engine/backend.h"
#include "io/anndata.h"
#include "tests/test_env.h"
#include "tests/workflow/neighbourhood_fixture.h"
#include "tools/workflow/connectivities.h"
#include "tools/workflow/neighbors.h"
#include "tools/workflow/neighbourhood_correlation.h"

namespace cuvi::test {
namespace {

TEST(NeighbourhoodCorrelationRealData, CellBenchMatchesRegularizedvi) {
  const std::string path = shared_data_file("cellbench-mixology/cellbench_3cellline_celseq2_dropseq.h5ad");
  if (path.empty()) {
    CUVI_SKIP_UNLESS_REQUIRED("CUVI_REQUIRE_DATA", "../shared/data/cellbench-mixology is absent");
  }
  const io::AnnDataFile f = io::AnnDataFile::open(path);
  const io::CsrMatrix x = f.read_matrix("X");
  const std::vector<int32_t> markers = workflow::top_variable_markers(x, 200);
  std::vector<int32_t> emb_genes;
  {
    std::ifstream in(neighbourhood_fixture("cellbench_embedding_genes.txt"));
    for (int32_t g; in >> g;) emb_genes.push_back(g);
  }
  ASSERT_EQ(emb_genes.size(), 30u);
  for (int32_t g : emb_genes)  // the reference chose them among its markers: the same marker rule
    ASSERT_TRUE(std::binary_search(markers.begin(), markers.end(), g)) << "gene " << g << " not among the markers";
  // log1p(count * 1e4 / total) in float32, as the generator
  const int64_t n = x.n_rows, d = int64_t(emb_genes.size());
  std::vector<float> emb(static_cast<size_t>(n * d), 0.f);
  for (int64_t i = 0; i < n; ++i) {
    double total = 0;
    for (int64_t e = x.indptr[size_t(i)]; e < x.indptr[size_t(i + 1)]; ++e) total += x.data[size_t(e)];
    for (int64_t e = x.indptr[size_t(i)]; e < x.indptr[size_t(i + 1)]; ++e) {
      const auto it = std::lower_bound(emb_genes.begin(), emb_genes.end(), x.indices[size_t(e)]);
      if (it != emb_genes.end() && *it == x.indices[size_t(e)])
        emb[size_t(i * d + (it - emb_genes.begin()))] = std::log1p(x.data[size_t(e)] * 1e4f / float(total));
    }
  }
  auto be = make_cpu_backend(1, 2);
  const io::CsrMatrix conn = workflow::umap_connectivities(workflow::nearest_neighbors(*be, emb.data(), n, d, 15));
  workflow::NeighbourhoodCovariates c;
  c.library_key = "batch";
  c.library = f.obs().find("batch")->cat.codes;
  c.dataset_key = "technology";
  c.dataset = f.obs().find("technology")->cat.codes;
  const workflow::ResultTable cells = workflow::marker_correlation(x, markers, conn, c, f.obs().index);
  const double tol = correlation_tolerance(int64_t(markers.size()));

  const Csv ref = read_csv(neighbourhood_fixture("cellbench_cells.csv"));
  ASSERT_EQ(int64_t(ref.rows.size()), n);
  for (size_t col = 1; col < ref.header.size(); ++col) {
    const auto& got = cells.at(ref.header[col]).num;
    const bool count = ref.header[col].rfind("n_neighbours_", 0) == 0;
    for (int64_t i = 0; i < n; ++i) {
      const double want = csv_number(ref.rows[size_t(i)][col]);
      if (std::isnan(want))
        EXPECT_TRUE(std::isnan(got[size_t(i)])) << ref.header[col] << " cell " << i;
      else
        EXPECT_NEAR(got[size_t(i)], want, count ? 0.0 : tol) << ref.header[col] << " cell " << i;
    }
  }
  const workflow::ResultTable summary = workflow::summarise_marker_correlation(cells, c);
  const Csv head = read_csv(neighbourhood_fixture("cellbench_summary.csv"));
  for (size_t r = 0; r < head.rows.size(); ++r) {
    ASSERT_EQ(summary.index[r], head.rows[r][0]);
    const double want = csv_number(head.rows[r][1]), have = summary.columns[0].num[r];
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(have)) << head.rows[r][0];
    else
      EXPECT_NEAR(have, want, tol * std::max(1.0, std::abs(want))) << head.rows[r][0];
  }
}

}  // namespace
}  // namespace cuvi::test
