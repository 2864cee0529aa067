// `cuvi inspect`: the report for .h5ad, 10x .h5 and .h5mu files (in-process), and the built binary's
// output and exit status on a good and a broken file.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "io/inspect.h"
#include "tests/io/h5_builder.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

std::string report(const std::string& path, bool full = true) {
  std::ostringstream out;
  io::InspectOptions o;
  o.full_scan = full;
  io::inspect_file(path, out, o);
  return out.str();
}

#define EXPECT_HAS(text, needle) EXPECT_NE((text).find(needle), std::string::npos) << "missing \"" << (needle) << "\" in:\n" << (text)

TEST(CliInspect, AnnDataReport) {
  CUVI_DATA_OR_SKIP(data);
  const std::string r = report(data + "/pbmc-onek1k-40donors/pbmc_onek1k_40donors_7811cells.h5ad");
  EXPECT_HAS(r, "format: AnnData .h5ad\n");
  EXPECT_HAS(r, "layout: anndata >= 0.8 (tagged encoding), encoding-version 0.1.0\n");
  EXPECT_HAS(r, "shape: 7811 obs x 1000 vars\n");
  EXPECT_HAS(r, "X: csr float32 (7811 x 1000), stored 889623; nonzero 889623 (88.6% zeros); values 1..1043; counts: yes");
  EXPECT_HAS(r, "all-zero cells: 0");
  EXPECT_HAS(r, "  donor      categorical, 40 categories: SAMP1, SAMP10, SAMP11, SAMP12, SAMP13, SAMP14, ... (+34 more)\n");
  EXPECT_HAS(r, "  age        int64, range 30..88\n");
  const std::string legacy = report(data + "/format-fixtures/anndata-archives/adata_v0.5.0.h5ad");
  EXPECT_HAS(legacy, "layout: anndata <= 0.6 (compound obs/var)\n");
  EXPECT_HAS(legacy, "counts: no (negative value -0.326 at row 0, column 0)");
  EXPECT_HAS(legacy, "X_pca: dense float32 (700 x 50)");
  const std::string quick = report(data + "/pbmc-cite-scvi-tests/pbmc_5k_protein_v3.h5ad", false);
  EXPECT_HAS(quick, "shape: 200 obs x 16581 vars\n");
  EXPECT_HAS(quick, "counts: yes (non-negative integers in the first rows)");
  EXPECT_HAS(quick, "protein_expression: dense int64 (200 x 29)");
}

TEST(CliInspect, TenxAndMudataReports) {
  CUVI_DATA_OR_SKIP(data);
  const std::string t = report(data + "/format-fixtures/10x-h5/cellranger_v3_chr21_filtered_feature_bc_matrix.h5");
  EXPECT_HAS(t, "format: 10x CellRanger .h5, v3+ layout (/matrix, features/)\n");
  EXPECT_HAS(t, "shape: 1107 obs x 507 vars\n");
  EXPECT_HAS(t, "feature types: Gene Expression 507\n");
  EXPECT_HAS(t, "genomes: GRCh38_chr21 507\n");
  EXPECT_HAS(t, "indices stored unsorted in 1107 rows/columns (sorted on read)");
  const std::string v2 = report(data + "/format-fixtures/10x-h5/cellranger_v2_multiple_genomes.h5");
  EXPECT_HAS(v2, "genomes: another_genome, hg19_chr21 (choose one with the genome option)\n");
  const std::string m = report(data + "/multiome-pbmc-muon-tiny/test_rna_atac.h5mu");
  EXPECT_HAS(m, "format: MuData .h5mu, axis 0 (modalities share cells), no encoder attributes");
  EXPECT_HAS(m, "shape: 1000 obs (global) x 219 vars (global)\n");
  EXPECT_HAS(m, "modality 'rna': 1000 of 1000 global cells present (aligned by identity)\n");
  EXPECT_HAS(m, "  shape: 1000 obs x 45 vars\n");
  const std::string a1 = report(data + "/format-fixtures/mudata-archives/mdata_v0.4.1_axis1.h5mu");
  EXPECT_HAS(a1, "modality 'mod1': 100 of 200 global cells present (aligned by obsmap)\n");
}

// The cuvi binary: $CUVI_BINARY_DIR/cuvi, the build directory compiled in, or next to the tests folder.
std::string cuvi_binary() {
  std::vector<std::filesystem::path> candidates;
  if (const char* d = std::getenv("CUVI_BINARY_DIR")) candidates.push_back(std::filesystem::path(d) / "cuvi");
#ifdef CUVI_BINARY_DIR
  candidates.push_back(std::filesystem::path(CUVI_BINARY_DIR) / "cuvi");
#endif
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(self.parent_path().parent_path() / "cuvi");
  for (const auto& c : candidates)
    if (std::filesystem::exists(c, ec) && access(c.c_str(), X_OK) == 0) return c.string();
  return "";
}

int run(const std::string& cmd, std::string* out) {
  out->clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out->append(buf.data(), n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(CliInspect, BinaryPrintsShapeOrErrorWithExitStatus) {
  const std::string bin = cuvi_binary();
  if (bin.empty()) GTEST_SKIP() << "cuvi binary not found (set CUVI_BINARY_DIR); skipping the end-to-end check";
  TempDir dir;
  const std::string good = dir.file("good.h5ad");
  write_toy_h5ad(good, toy_anndata());
  std::string out;
  EXPECT_EQ(run(bin + " inspect " + good, &out), 0) << out;
  EXPECT_HAS(out, "shape: 4 obs x 3 vars\n");
  EXPECT_HAS(out, "all-zero cells: 1");
  ToyAnnData t = toy_anndata();
  t.x->indptr = {0, 3, 2, 4, 6};
  const std::string bad = dir.file("bad.h5ad");
  write_toy_h5ad(bad, t);
  EXPECT_EQ(run(bin + " inspect " + bad, &out), 1) << out;
  EXPECT_HAS(out, "cuvi inspect: error: " + bad + ": /X/indptr: not monotonic: indptr[1] = 3 > indptr[2] = 2\n");
  EXPECT_EQ(run(bin + " inspect --help", &out), 0);
  EXPECT_HAS(out, "usage: cuvi inspect FILE");
  EXPECT_EQ(run(bin + " inspect", &out), 1);
  EXPECT_HAS(out, "cuvi inspect: error: expected one FILE argument");
}

}  // namespace
}  // namespace cuvi::test
