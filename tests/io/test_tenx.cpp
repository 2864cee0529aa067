// 10x CellRanger reader: v2 per-genome groups (and the several-genomes refusal), v3 /matrix with
// fixed-length strings and unsorted indices, and a multiome ARC file split into Gene Expression and Peaks.
#include <gtest/gtest.h>

#include <numeric>

#include "io/dataset.h"
#include "io/tenx.h"
#include "tests/io/h5_builder.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

using io::CsrMatrix;

double total(const CsrMatrix& m) { return std::accumulate(m.data.begin(), m.data.end(), 0.0); }

std::vector<float> dense(const CsrMatrix& m) {
  std::vector<float> d(size_t(m.n_rows * m.n_cols), 0.f);
  for (int64_t r = 0; r < m.n_rows; ++r)
    for (int64_t q = m.indptr[r]; q < m.indptr[r + 1]; ++q) d[size_t(r * m.n_cols + m.indices[q])] = m.data[q];
  return d;
}

// 4 barcodes x 6 features (3 Gene Expression, 3 Peaks), CSC over barcodes, barcode 1 stored unsorted.
std::string write_arc(const TempDir& dir) {
  const std::string file = dir.file("arc.h5");
  H5Builder b(file);
  b.attr_string("/", "filetype", "matrix");
  b.strings("/matrix/barcodes", {"AAAC-1", "AAAG-1", "AACC-1", "AAGT-1"}, 18);
  b.array("/matrix/data", std::vector<int32_t>{1, 2, 3, 4, 1, 1, 7});
  b.array("/matrix/indices", std::vector<int64_t>{0, 3, 5, 1, 4, 3, 2});
  b.array("/matrix/indptr", std::vector<int64_t>{0, 2, 5, 5, 7});
  b.array("/matrix/shape", std::vector<int32_t>{6, 4});
  b.strings("/matrix/features/id", {"ENSG1", "ENSG2", "ENSG3", "chr1:1-10", "chr1:20-30", "chr2:5-9"}, 15);
  b.strings("/matrix/features/name", {"A", "B", "C", "chr1:1-10", "chr1:20-30", "chr2:5-9"}, 15);
  b.strings("/matrix/features/feature_type",
            {"Gene Expression", "Gene Expression", "Gene Expression", "Peaks", "Peaks", "Peaks"}, 15);
  b.strings("/matrix/features/genome", std::vector<std::string>(6, "GRCh38"), 6);
  b.strings("/matrix/features/interval", {"chr1:5-9", "chr1:50-90", "chr3:1-2", "chr1:1-10", "chr1:20-30", "chr2:5-9"}, 18);
  b.strings("/matrix/features/_all_tag_keys", {"genome", "interval"}, 8);
  return file;
}

TEST(IoTenx, V2SingleAndMultipleGenomes) {
  CUVI_DATA_OR_SKIP(data);
  const std::string one = data + "/format-fixtures/10x-h5/cellranger_v2_hg19_chr21_filtered_gene_bc_matrices_h5.h5";
  const io::TenxData d = io::read_10x_h5(one);
  EXPECT_EQ(d.version, 2);
  EXPECT_EQ(d.genome, "hg19_chr21");
  EXPECT_EQ(d.counts.n_rows, 12);
  EXPECT_EQ(d.counts.n_cols, 343);
  EXPECT_EQ(d.counts.nnz(), 12);
  EXPECT_EQ(d.obs.index[0], "AACACGTGTACGCTGC-1");
  EXPECT_EQ(d.obs.index[1], "AAGGAGCTCCGATATG-1");
  EXPECT_EQ(d.var.index[0], "DSCAM");
  EXPECT_EQ(d.var.require("gene_symbols", one, "var").strings[1], "MIR99AHG");
  EXPECT_EQ(std::vector<int32_t>(d.counts.indices.begin(), d.counts.indices.begin() + 4), (std::vector<int32_t>{200, 122, 282, 317}));

  const std::string many = data + "/format-fixtures/10x-h5/cellranger_v2_multiple_genomes.h5";
  EXPECT_IO_ERROR(io::read_10x_h5(many), "the file holds 2 genomes (another_genome, hg19_chr21); choose one");
  io::TenxOptions o;
  o.genome = "another_genome";
  const io::TenxData other = io::read_10x_h5(many, o);
  EXPECT_DOUBLE_EQ(total(other.counts), 13.0);
  o.genome = "mm10";
  EXPECT_IO_ERROR(io::read_10x_h5(many, o), "genome 'mm10' not found; genomes: another_genome, hg19_chr21");
  const auto s = io::describe_10x_h5(many);
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_EQ(s.groups[1].genome, "hg19_chr21");
}

TEST(IoTenx, V3MatrixWithUnsortedIndices) {
  CUVI_DATA_OR_SKIP(data);
  const std::string f = data + "/format-fixtures/10x-h5/cellranger_v3_chr21_filtered_feature_bc_matrix.h5";
  const io::TenxData d = io::read_10x_h5(f);
  EXPECT_EQ(d.version, 3);
  EXPECT_EQ(d.counts.n_rows, 1107);
  EXPECT_EQ(d.counts.n_cols, 507);
  EXPECT_EQ(d.counts.nnz(), 23866);
  EXPECT_DOUBLE_EQ(total(d.counts), 41549.0);
  EXPECT_EQ(d.obs.index[1], "AAACGCTTCAGCCCAG-1");
  EXPECT_EQ(d.var.index[0], "ENSG00000279493");
  EXPECT_EQ(d.var.require("gene_symbols", f, "var").strings[1], "CH507-9B2.1");
  EXPECT_EQ(d.var.require("genome", f, "var").cat.categories, (std::vector<std::string>{"GRCh38_chr21"}));
  // Every stored row is unsorted in this CellRanger file; the reader sorts.
  EXPECT_EQ(std::vector<int32_t>(d.counts.indices.begin(), d.counts.indices.begin() + 4), (std::vector<int32_t>{138, 139, 140, 161}));
  const auto m = io::open_10x_matrix(f);
  io::ReadOptions ro;
  ro.allow_unsorted_indices = false;
  EXPECT_IO_ERROR(io::read_matrix_element(m, ro), "column indices not sorted within row 0 (455 after 457)");
}

TEST(IoTenx, ArcSplitsGeneExpressionAndPeaks) {
  TempDir dir;
  const std::string f = write_arc(dir);
  io::TenxData gex = io::read_10x_h5(f);  // several types: Gene Expression by default, noted
  EXPECT_EQ(gex.feature_type, "Gene Expression");
  ASSERT_EQ(gex.notes.size(), 1u);
  EXPECT_EQ(gex.notes[0], "using feature type 'Gene Expression' of Gene Expression, Peaks");
  EXPECT_EQ(gex.var.index, (std::vector<std::string>{"ENSG1", "ENSG2", "ENSG3"}));
  EXPECT_EQ(dense(gex.counts), (std::vector<float>{1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 7}));
  io::TenxOptions o;
  o.feature_type = "Peaks";
  const io::TenxData peaks = io::read_10x_h5(f, o);
  EXPECT_EQ(peaks.var.index, (std::vector<std::string>{"chr1:1-10", "chr1:20-30", "chr2:5-9"}));
  EXPECT_EQ(dense(peaks.counts), (std::vector<float>{2, 0, 0, 0, 1, 3, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(peaks.var.require("interval", f, "var").strings[2], "chr2:5-9");
  EXPECT_EQ(peaks.obs.index[3], "AAGT-1");
  o.feature_type = "Antibody Capture";
  EXPECT_IO_ERROR(io::read_10x_h5(f, o), "feature type 'Antibody Capture' not found; feature types: Gene Expression, Peaks");

  io::LoadOptions lo;
  lo.modality = "atac";
  const io::Dataset ds = io::load_dataset(f, lo);
  EXPECT_EQ(ds.format, io::FileFormat::Tenx);
  EXPECT_EQ(ds.counts.n_cols, 3);
  EXPECT_EQ(ds.var.index[0], "chr1:1-10");
  EXPECT_EQ(ds.summary.all_zero_cells, 1);  // barcode 2 has no counts
  EXPECT_EQ(ds.notes.back(), "1 of 4 cells have no counts");
}

TEST(IoTenx, RealArcAndAtacFixtures) {
  CUVI_DATA_OR_SKIP(data);
  const io::TenxData arc = io::read_10x_h5(data + "/format-fixtures/10x-h5/cellranger_arc_multiome_10x10_ex.h5");
  EXPECT_EQ(arc.counts.nnz(), 2);
  EXPECT_EQ(dense(arc.counts)[7 * 10 + 6], 1.f);
  EXPECT_EQ(dense(arc.counts)[9 * 10 + 6], 2.f);
  EXPECT_EQ(arc.var.index[0], "ENSG00000243485");
  EXPECT_EQ(arc.var.require("interval", "arc", "var").strings[0], "chr1:29553-30267");
  const io::TenxData atac = io::read_10x_h5(data + "/format-fixtures/10x-h5/cellranger_atac_peaks_10x10_ex.h5");
  EXPECT_EQ(atac.feature_type, "");
  EXPECT_EQ(dense(atac.counts)[8 * 10 + 9], 2.f);
}

}  // namespace
}  // namespace cuvi::test
