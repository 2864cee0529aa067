// The simulator's truth is in its counts: DE genes change between conditions by their recorded fold,
// markers are higher in their cell type, batches differ, a seed reproduces the data, ATAC peaks open
// in their cell type; the written .h5ad carries the truth columns.
#include <gtest/gtest.h>

#include <cmath>

#include "io/anndata.h"
#include "tests/models/scvi_test_util.h"

namespace cuvi::test {
namespace {

// Mean normalised expression (counts / total * 1e4) of gene g over cells where pick(i) holds.
template <class F>
double mean_norm(const io::CsrMatrix& m, const std::vector<double>& totals, int64_t g, F pick) {
  double s = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < m.n_rows; ++i) {
    if (!pick(i)) continue;
    ++n;
    for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k)
      if (m.indices[k] == g) s += m.data[k] / totals[i] * 1e4;
  }
  return s / std::max<int64_t>(n, 1);
}

TEST(Simulate, CountsCarryTheRecordedTruth) {
  workflow::SimulationConfig c;
  c.n_cells = 3000;
  c.n_genes = 300;
  c.n_peaks = 50;
  c.seed = 2;
  const workflow::SimulatedData d = workflow::simulate(c);
  const io::CsrMatrix& m = d.counts;
  ASSERT_EQ(m.n_rows, 3000);
  std::vector<double> totals(m.n_rows, 0);
  for (int64_t i = 0; i < m.n_rows; ++i)
    for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) totals[i] += m.data[k];
  const auto& cond = d.obs.find("condition")->cat.codes;
  const auto& type = d.obs.find("cell_type")->cat.codes;
  const auto& is_de = d.var.find("is_de")->numeric;
  const auto& lfc = d.var.find("de_log2fc")->numeric;
  const auto& marker = d.var.find("marker_of")->strings;
  int de_checked = 0, marker_checked = 0;
  for (int64_t g = 0; g < m.n_cols; ++g) {
    const double stim = mean_norm(m, totals, g, [&](int64_t i) { return cond[i] == 1; });
    const double ctrl = mean_norm(m, totals, g, [&](int64_t i) { return cond[i] == 0; });
    if (stim < 5 || ctrl < 5) continue;  // too few counts for a stable ratio
    const double observed = std::log2(stim / ctrl);
    if (is_de[g] != 0) {
      // Normalisation shifts every gene a little; the recorded fold must dominate.
      EXPECT_NEAR(observed, lfc[g], 0.5) << "gene " << g;
      EXPECT_GT(std::fabs(observed), 1.0) << "gene " << g;
      ++de_checked;
    } else {
      EXPECT_LT(std::fabs(observed), 0.6) << "gene " << g << " is not DE but changes";
    }
    if (!marker[g].empty()) {
      const int32_t t = int32_t(std::stoi(marker[g].substr(5)));
      const double in = mean_norm(m, totals, g, [&](int64_t i) { return type[i] == t; });
      const double out = mean_norm(m, totals, g, [&](int64_t i) { return type[i] != t; });
      EXPECT_GT(in, 1.5 * out) << "marker " << g << " of " << marker[g];
      ++marker_checked;
    }
  }
  EXPECT_GT(de_checked, 3);
  EXPECT_GT(marker_checked, 10);
  // ATAC: a cell type's own peaks are open more often in it than elsewhere.
  ASSERT_EQ(d.atac.n_rows, 3000);
  ASSERT_EQ(d.atac.n_cols, 50);
  std::vector<float> atac(size_t(3000 * 50), 0.f);
  for (int64_t i = 0; i < 3000; ++i)
    for (int64_t k = d.atac.indptr[i]; k < d.atac.indptr[i + 1]; ++k) atac[size_t(i * 50 + d.atac.indices[k])] = d.atac.data[k];
  int peaks_checked = 0;
  for (int64_t p = 0; p < 50; ++p) {
    if (d.peak_cell_type[p].empty()) continue;
    const int32_t t = int32_t(std::stoi(d.peak_cell_type[p].substr(5)));
    double in = 0, out = 0, nin = 0, nout = 0;
    for (int64_t i = 0; i < 3000; ++i) (type[i] == t ? in : out) += atac[size_t(i * 50 + p)] > 0, (type[i] == t ? nin : nout) += 1;
    EXPECT_GT(in / nin, 2 * out / nout) << "peak " << p;
    ++peaks_checked;
  }
  EXPECT_GT(peaks_checked, 5);
}

TEST(Simulate, SeedReproducesAndFileHoldsTheTruth) {
  workflow::SimulationConfig c;
  c.n_cells = 200;
  c.n_genes = 40;
  const workflow::SimulatedData a = workflow::simulate(c), b = workflow::simulate(c);
  EXPECT_EQ(a.counts.data, b.counts.data);
  c.seed = 1;
  EXPECT_NE(workflow::simulate(c).counts.data, a.counts.data);
  const std::string path = temp_path("sim_truth.h5ad");
  workflow::write_simulation(a, c, path);
  const io::AnnDataFile f = io::AnnDataFile::open(path);
  for (const char* col : {"cell_type", "batch", "donor", "condition", "sex", "age", "true_library"})
    EXPECT_NE(f.obs().find(col), nullptr) << col;
  for (const char* col : {"marker_of", "is_de", "de_log2fc", "theta"}) EXPECT_NE(f.var().find(col), nullptr) << col;
  const io::CsrMatrix x = f.read_matrix("X");
  EXPECT_EQ(x.data, a.counts.data);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace cuvi::test
