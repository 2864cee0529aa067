// AnnData reader on the real fixtures of every layout generation (<= 0.6 compound, 0.7 groups with
// references and LZF, tagged 0.8+), row/column subsets, CSC, dense, and error messages for missing keys.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "io/anndata.h"
#include "tests/io/h5_builder.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

using io::AnnDataFile;
using io::ColumnKind;
using io::CsrMatrix;
using io::ReadOptions;

double total(const CsrMatrix& m) { return std::accumulate(m.data.begin(), m.data.end(), 0.0); }

ReadOptions values_only() {
  ReadOptions o;
  o.require_counts = false;
  return o;
}

// Dense copy of a CSR matrix, for comparing subsets.
std::vector<float> dense(const CsrMatrix& m) {
  std::vector<float> d(size_t(m.n_rows * m.n_cols), 0.f);
  for (int64_t r = 0; r < m.n_rows; ++r)
    for (int64_t q = m.indptr[r]; q < m.indptr[r + 1]; ++q) d[size_t(r * m.n_cols + m.indices[q])] = m.data[q];
  return d;
}

void expect_sorted_rows(const CsrMatrix& m) {
  for (int64_t r = 0; r < m.n_rows; ++r)
    for (int64_t q = m.indptr[r] + 1; q < m.indptr[r + 1]; ++q) ASSERT_LT(m.indices[q - 1], m.indices[q]) << "row " << r;
}

TEST(IoAnnData, Legacy06CompoundLayout) {
  CUVI_DATA_OR_SKIP(data);
  const auto a = AnnDataFile::open(data + "/format-fixtures/anndata-archives/adata_v0.5.0.h5ad");
  EXPECT_EQ(a.layout(), io::AnnDataLayout::Legacy06);
  EXPECT_EQ(a.n_obs(), 700);
  EXPECT_EQ(a.n_vars(), 765);
  EXPECT_EQ(a.var().index[0], "HES4");
  EXPECT_EQ(a.var().index[2], "SSU72");
  const auto& bulk = a.obs().require("bulk_labels", a.path());
  ASSERT_EQ(bulk.kind, ColumnKind::Categorical);
  ASSERT_EQ(bulk.cat.categories.size(), 10u);
  EXPECT_EQ(bulk.cat.categories[0], "CD4+/CD25 T Reg");
  EXPECT_EQ(bulk.cat.categories[1], "CD4+/CD45RA+/CD25- Naive T");
  EXPECT_EQ(std::vector<int32_t>(bulk.cat.codes.begin(), bulk.cat.codes.begin() + 5), (std::vector<int32_t>{5, 9, 8, 0, 9}));
  EXPECT_EQ(a.obs().require("n_genes", a.path()).kind, ColumnKind::Numeric);
  EXPECT_EQ(a.var().require("highly_variable", a.path(), "var").kind, ColumnKind::Boolean);
  // X is scaled (not counts): refused as counts, readable as values.
  EXPECT_IO_ERROR(a.read_matrix("X"), "negative count -0.326 at row 0, column 0");
  const CsrMatrix x = a.read_matrix("X", values_only());
  EXPECT_EQ(x.n_rows, 700);
  EXPECT_FLOAT_EQ(x.data[0], -0.326f);
  // raw.X: top-level h5sparse group, indices stored unsorted.
  ASSERT_TRUE(a.has_raw());
  const CsrMatrix raw = a.read_matrix("raw", values_only());
  EXPECT_EQ(raw.nnz(), 174400);
  EXPECT_DOUBLE_EQ(total(raw), 319044.23824107647);  // float64 sum of the stored values
  expect_sorted_rows(raw);
  EXPECT_IO_ERROR(a.read_matrix("raw"), "non-integer count");
  // obsm compound members.
  int64_t k = 0;
  const auto pca = a.read_obsm("X_pca", &k);
  EXPECT_EQ(k, 50);
  EXPECT_FLOAT_EQ(pca[0], -7.939618110656738f);
  EXPECT_FLOAT_EQ(pca[2], 2.903730630874634f);
  const auto umap = a.read_obsm("X_umap", &k);
  EXPECT_EQ(k, 2);
  EXPECT_FLOAT_EQ(umap[2], float(-3.2486919412134108));
}

TEST(IoAnnData, Legacy07ReferencesLayersRawAndObsm) {
  CUVI_DATA_OR_SKIP(data);
  const auto a = AnnDataFile::open(data + "/format-fixtures/anndata-archives/adata_v0.7.8.h5ad");
  EXPECT_EQ(a.layout(), io::AnnDataLayout::Legacy07);
  EXPECT_EQ(a.n_obs(), 30);
  EXPECT_EQ(a.n_vars(), 20);
  const auto& cat = a.obs().require("obs_cat", a.path());
  ASSERT_EQ(cat.kind, ColumnKind::Categorical);
  EXPECT_EQ(std::vector<std::string>(cat.cat.categories.begin(), cat.cat.categories.begin() + 5),
            (std::vector<std::string>{"A", "B", "E", "F", "J"}));
  EXPECT_EQ(std::vector<int32_t>(cat.cat.codes.begin(), cat.cat.codes.begin() + 6), (std::vector<int32_t>{13, 0, 9, 1, 18, 19}));
  EXPECT_FALSE(cat.cat.ordered);
  EXPECT_TRUE(a.obs().require("cat_ordered", a.path()).cat.ordered);
  const auto& u8 = a.obs().require("uint8", a.path());
  EXPECT_EQ(std::vector<double>(u8.numeric.begin(), u8.numeric.begin() + 3), (std::vector<double>{73, 59, 209}));
  EXPECT_TRUE(u8.is_integer);
  const auto& i64 = a.obs().require("int64", a.path());
  EXPECT_EQ(std::vector<double>(i64.numeric.begin(), i64.numeric.begin() + 3), (std::vector<double>{-16, -15, 0}));

  const CsrMatrix x = a.read_matrix("X");
  EXPECT_EQ(x.nnz(), 239);
  EXPECT_DOUBLE_EQ(total(x), 302.0);
  EXPECT_EQ(a.layers(), (std::vector<std::string>{"array", "sparse"}));
  EXPECT_EQ(a.matrix_info("layers/array").storage, "dense");
  EXPECT_EQ(a.matrix_info("sparse").dtype, "float64");
  EXPECT_IO_ERROR(a.read_matrix("sparse"), "non-integer count");
  const auto raw = a.matrix_info("raw");
  EXPECT_EQ(raw.path, "raw/X");
  EXPECT_EQ(raw.n_cols, 40);
  EXPECT_DOUBLE_EQ(total(a.read_matrix("raw/X")), 568.0);
  EXPECT_EQ(a.raw_var().n_rows(), 40);

  int64_t k = 0;
  const auto arr = a.read_obsm("array", &k);
  EXPECT_EQ(k, 50);
  EXPECT_FLOAT_EQ(arr[0], float(0.045898810474264584));
  const auto info = a.obsm_info();
  ASSERT_EQ(info.size(), 3u);
  EXPECT_EQ(info[1].kind, "dataframe");
  EXPECT_EQ(info[2].kind, "csr");
  EXPECT_IO_ERROR(a.read_obsm("df", &k), "only dense arrays can be read");
  EXPECT_IO_ERROR(a.read_obsm("X_pca", &k), "obsm 'X_pca' not found in");
  EXPECT_IO_ERROR(a.read_matrix("counts"), "layer 'counts' not found in " + a.path() + "; layers: array, sparse");
}

TEST(IoAnnData, TaggedFileWithoutX) {
  CUVI_DATA_OR_SKIP(data);
  const auto a = AnnDataFile::open(data + "/format-fixtures/anndata-archives/adata_v0.11.4.h5ad");
  EXPECT_EQ(a.layout(), io::AnnDataLayout::Tagged);
  EXPECT_FALSE(a.has_x());
  EXPECT_EQ(a.n_obs(), 10);
  EXPECT_EQ(a.n_vars(), 20);
  EXPECT_TRUE(a.obs().columns.empty());  // column-order is an empty float64 array
  EXPECT_IO_ERROR(a.read_matrix("X"), "X not found (the file has no X; layers: (none))");
}

TEST(IoAnnData, ScviTestFilesLegacySparseAndH5sparse) {
  CUVI_DATA_OR_SKIP(data);
  const auto b = AnnDataFile::open(data + "/format-fixtures/legacy-h5ad/anndata07_brainlarge_dataset_test.h5ad");
  const CsrMatrix x = b.read_matrix("X");
  EXPECT_EQ(x.n_rows, 70);
  EXPECT_EQ(x.n_cols, 720);
  EXPECT_EQ(x.nnz(), 15274);
  EXPECT_DOUBLE_EQ(total(x), 38735.0);
  EXPECT_EQ(std::vector<int32_t>(x.indices.begin() + x.indptr[3], x.indices.begin() + x.indptr[3] + 4),
            (std::vector<int32_t>{0, 5, 10, 41}));
  EXPECT_EQ(b.obs().require("n_counts", b.path()).dtype, "float32");

  const auto t = AnnDataFile::open(data + "/format-fixtures/legacy-h5ad/h5sparse_TM_droplet_mat.h5ad");
  EXPECT_EQ(t.layout(), io::AnnDataLayout::Legacy06);
  const CsrMatrix tx = t.read_matrix("X");
  EXPECT_EQ(tx.n_rows, 47);
  EXPECT_EQ(tx.nnz(), 470);
  EXPECT_DOUBLE_EQ(total(tx), 633.0);
  EXPECT_EQ(t.obs().index[1], "cell1");
  EXPECT_EQ(t.var().index[1], "0610007C21RIK");
}

TEST(IoAnnData, DenseLzfCountsAndIntegerObsm) {
  CUVI_DATA_OR_SKIP(data);
  const auto a = AnnDataFile::open(data + "/pbmc-cite-scvi-tests/pbmc_10k_protein_v3.h5ad");
  EXPECT_EQ(a.obs().index_name, "index");
  EXPECT_EQ(a.obs().index[1], "AAACCCACATCGGTTA-1");
  const auto info = a.matrix_info("X");
  EXPECT_EQ(info.storage, "dense");
  const CsrMatrix x = a.read_matrix("X");
  EXPECT_EQ(x.n_rows, 200);
  EXPECT_EQ(x.n_cols, 16727);
  EXPECT_EQ(x.nnz(), 317760);
  EXPECT_DOUBLE_EQ(total(x), 909531.0);
  int64_t k = 0;
  const auto prot = a.read_obsm("protein_expression", &k);
  EXPECT_EQ(k, 14);
  EXPECT_EQ(std::vector<float>(prot.begin(), prot.begin() + 5), (std::vector<float>{18, 138, 13, 491, 61}));
  const auto& enc = a.var().require("encode", a.path(), "var");
  EXPECT_EQ(enc.cat.categories[2], "CD8A");
  // Row/column subset of a dense element equals the same cut of the full matrix.
  ReadOptions o;
  o.rows = std::vector<int64_t>{199, 0, 57};
  o.cols = std::vector<int64_t>{16000, 5, 1234, 7};
  const CsrMatrix sub = a.read_matrix("X", o);
  const auto full = dense(x), cut = dense(sub);
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 4; ++j)
      EXPECT_EQ(cut[i * 4 + j], full[size_t((*o.rows)[i] * x.n_cols + (*o.cols)[j])]) << i << "," << j;
  expect_sorted_rows(sub);
}

TEST(IoAnnData, TaggedRealDataSubsetsMatchFullRead) {
  CUVI_DATA_OR_SKIP(data);
  const auto a = AnnDataFile::open(data + "/pbmc-onek1k-40donors/pbmc_onek1k_40donors_7811cells.h5ad");
  const CsrMatrix x = a.read_matrix("X");
  EXPECT_EQ(x.nnz(), 889623);
  EXPECT_DOUBLE_EQ(total(x), 5527545.0);
  EXPECT_EQ(std::vector<int32_t>(x.indices.begin(), x.indices.begin() + 3), (std::vector<int32_t>{63, 67, 76}));
  EXPECT_EQ(std::vector<float>(x.data.begin(), x.data.begin() + 3), (std::vector<float>{1, 2, 1}));
  const auto s = io::summarize_counts(x);
  EXPECT_EQ(s.all_zero_cells, 0);
  EXPECT_EQ(s.max_value, 1043);
  const auto& donor = a.obs().require("donor", a.path());
  EXPECT_EQ(donor.cat.categories.size(), 40u);
  EXPECT_EQ(a.obs().require("age", a.path()).numeric[0], 65);

  // Unordered rows with a repeat and a missing row (-1), unordered columns.
  ReadOptions o;
  o.rows = std::vector<int64_t>{7000, 2, 2, -1, 5, 7810};
  o.cols = std::vector<int64_t>{999, 63, 3, 500};
  const CsrMatrix sub = a.read_matrix("X", o);
  ASSERT_EQ(sub.n_rows, 6);
  ASSERT_EQ(sub.n_cols, 4);
  expect_sorted_rows(sub);
  for (size_t i = 0; i < 6; ++i) {
    const int64_t r = (*o.rows)[i];
    for (size_t j = 0; j < 4; ++j) {
      float want = 0;
      if (r >= 0)
        for (int64_t q = x.indptr[r]; q < x.indptr[r + 1]; ++q)
          if (x.indices[q] == (*o.cols)[j]) want = x.data[q];
      EXPECT_EQ(dense(sub)[i * 4 + j], want) << "row " << i << " col " << j;
    }
  }
  EXPECT_EQ(sub.indptr[4] - sub.indptr[3], 0);  // the -1 row is empty
  // Ascending row ranges (the block reader's fast path) equal slices of the full read.
  ReadOptions asc;
  asc.rows = std::vector<int64_t>{};
  for (int64_t r = 100; r < 4000; r += 3) asc.rows->push_back(r);
  const CsrMatrix part = a.read_matrix("X", asc);
  for (size_t i = 0; i < asc.rows->size(); ++i) {
    const int64_t r = (*asc.rows)[i];
    ASSERT_EQ(part.indptr[i + 1] - part.indptr[i], x.indptr[r + 1] - x.indptr[r]);
    for (int64_t q = 0; q < x.indptr[r + 1] - x.indptr[r]; ++q) {
      ASSERT_EQ(part.indices[part.indptr[i] + q], x.indices[x.indptr[r] + q]);
      ASSERT_EQ(part.data[part.indptr[i] + q], x.data[x.indptr[r] + q]);
    }
  }
  EXPECT_IO_ERROR(a.read_matrix("X", [] { ReadOptions b; b.rows = std::vector<int64_t>{7811}; return b; }()),
                  "row 7811 requested but the matrix has 7811 rows");
  EXPECT_IO_ERROR(a.obs().require("batch", a.path()), "column 'batch' not found in obs; columns: donor, cell_type, sex, age");
}

TEST(IoAnnData, CscLayerMatchesCsrX) {
  TempDir dir;
  const std::string file = dir.file("csc.h5ad");
  ToyAnnData t = toy_anndata();
  // The toy matrix [[1 0 2] [0 0 0] [3 1 0] [0 5 1]] stored as CSC, int64 indices.
  ToySparse csc;
  csc.shape = {4, 3};
  csc.encoding = "csc_matrix";
  csc.index_type = "int64";
  csc.data_type = "int32";
  csc.indptr = {0, 2, 4, 6};
  csc.indices = {0, 2, 2, 3, 0, 3};
  csc.data = {1, 3, 1, 5, 2, 1};
  t.layers["counts"] = csc;
  write_toy_h5ad(file, t);
  const auto a = AnnDataFile::open(file);
  EXPECT_EQ(a.matrix_info("counts").storage, "csc");
  const CsrMatrix x = a.read_matrix("X"), c = a.read_matrix("counts");
  EXPECT_EQ(c.indptr, x.indptr);
  EXPECT_EQ(c.indices, x.indices);
  EXPECT_EQ(c.data, x.data);
  ReadOptions o;
  o.rows = std::vector<int64_t>{3, 0, 3};
  o.cols = std::vector<int64_t>{2, 1};
  const CsrMatrix s = a.read_matrix("counts", o);
  EXPECT_EQ(dense(s), (std::vector<float>{1, 5, 2, 0, 1, 5}));
  const auto scan = a.scan_matrix("counts");
  EXPECT_EQ(scan.all_zero_rows, 1);
  EXPECT_EQ(scan.nonzero, 6);
  EXPECT_TRUE(scan.looks_like_counts());
}

TEST(IoAnnData, IntegerAndUnsignedIndexTypes) {
  TempDir dir;
  for (const char* itype : {"int32", "int64", "uint32"}) {
    for (const char* dtype : {"float32", "float64", "int32", "int64"}) {
      ToyAnnData t = toy_anndata();
      t.x->index_type = itype;
      t.x->data_type = dtype;
      const std::string file = dir.file(std::string(itype) + dtype + ".h5ad");
      write_toy_h5ad(file, t);
      const CsrMatrix x = AnnDataFile::open(file).read_matrix("X");
      EXPECT_EQ(x.indptr, (std::vector<int64_t>{0, 2, 2, 4, 6})) << itype << dtype;
      EXPECT_EQ(x.indices, (std::vector<int32_t>{0, 2, 0, 1, 1, 2})) << itype << dtype;
      EXPECT_EQ(x.data, (std::vector<float>{1, 2, 3, 1, 5, 1})) << itype << dtype;
    }
  }
}

TEST(IoAnnData, Legacy07ToyWithReferences) {
  TempDir dir;
  ToyAnnData t = toy_anndata();
  t.legacy07 = true;
  write_toy_h5ad(dir.file("l07.h5ad"), t);
  const auto a = AnnDataFile::open(dir.file("l07.h5ad"));
  EXPECT_EQ(a.layout(), io::AnnDataLayout::Legacy07);
  const auto& ct = a.obs().require("cell_type", a.path());
  EXPECT_EQ(ct.cat.categories, (std::vector<std::string>{"B", "NK", "T"}));
  EXPECT_EQ(ct.cat.codes, (std::vector<int32_t>{2, 0, 2, 1}));
}

}  // namespace
}  // namespace cuvi::test
