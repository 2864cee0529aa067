// H5adWriter: new minimal files and copies of inputs, every element kind, exact anndata 0.8+ tags,
// replacement of existing keys, gzip and chunk sizes, and the temporary-file guarantee on failure.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "io/anndata.h"
#include "io/h5ad_writer.h"
#include "tests/io/h5_builder.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

using io::AnnDataFile;
using io::Column;
using io::ColumnKind;
using io::CsrMatrix;
using io::DataFrame;
using io::H5adWriter;
using io::Node;

CsrMatrix toy_matrix() {
  CsrMatrix m;
  m.n_rows = 4;
  m.n_cols = 3;
  m.indptr = {0, 2, 2, 4, 6};
  m.indices = {0, 2, 0, 1, 1, 2};
  m.data = {1, 2, 3, 1, 5, 1};
  return m;
}

DataFrame toy_obs() {
  DataFrame obs;
  obs.index = {"c0", "c1", "c2", "c3"};
  obs.columns.push_back(Column::categorical_from_strings("cell_type", {"T", "B", "T", "NK"}));
  obs.columns.push_back(Column::numbers("score", {0.5, std::nan(""), 1.5, -2}));
  obs.columns.push_back(Column::numbers("n_genes", {3, 0, 4, 6}, true));
  obs.columns.push_back(Column::numbers("age", {30, std::nan(""), 41, 57}, true));
  obs.columns.push_back(Column::booleans("keep", {true, false, true, true}));
  obs.columns.push_back(Column::texts("batch", {"b1", "b2", "b1", "b1"}));
  return obs;
}

std::string attr(const Node& root, const std::string& path, const std::string& name) {
  const Node n = path == "/" ? root : root.open(path.substr(1));
  return n.attr_string(name).value_or("(absent)");
}

int filters_of(const Node& ds, hsize_t* chunk_elems) {
  io::H5Handle dcpl(H5Dget_create_plist(ds.id()));
  hsize_t dims[2] = {0, 0};
  const int rank = H5Pget_layout(dcpl.get()) == H5D_CHUNKED ? H5Pget_chunk(dcpl.get(), 2, dims) : 0;
  *chunk_elems = rank == 0 ? 0 : (rank == 1 ? dims[0] : dims[0] * dims[1]);
  return H5Pget_nfilters(dcpl.get());
}

TEST(IoWriter, NewFileWithEveryElementKind) {
  TempDir dir;
  const std::string out = dir.file("new.h5ad");
  DataFrame var;
  var.index = {"g0", "g1", "g2"};
  var.columns.push_back(Column::booleans("highly_variable", {true, false, true}));
  io::WriteOptions wo;
  wo.gzip_level = 4;
  {
    H5adWriter w = H5adWriter::create(out, toy_obs(), var, wo);
    w.set_x(toy_matrix());
    const std::vector<float> latent = {0.5f, -1, 2, 3, 4.25f, 5, -6, 7};
    w.add_obsm("X_scVI", latent.data(), 4, 2);
    const std::vector<float> norm(12, 0.25f);
    w.add_layer_dense("normalized", norm.data(), 4, 3);
    w.add_layer_csr("counts", toy_matrix());
    w.add_obs_column(Column::categorical_from_strings("leiden", {"1", "0", "1", "2"}));
    w.add_var_column(Column::numbers("dispersion", {0.1, 0.2, 0.3}));
    w.add_uns_string("cuvi/model", "SCVI");
    w.add_uns_number("cuvi/elbo", -123.5);
    w.add_uns_integer("cuvi/n_epochs", 400);
    w.add_uns_strings("cuvi/genes", {"g0", "g1", "g2"});
    DataFrame de;
    de.index = {"g2", "g0"};
    de.columns.push_back(Column::texts("group", {"T", "B"}));
    de.columns.push_back(Column::numbers("lfc", {1.5, -0.25}));
    de.columns.push_back(Column::booleans("significant", {true, false}));
    w.add_uns_dataframe("de/results", de);
    EXPECT_FALSE(std::filesystem::exists(out));  // nothing at the final name before commit
    w.commit();
  }
  ASSERT_TRUE(std::filesystem::exists(out));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 1);

  const AnnDataFile a = AnnDataFile::open(out);
  EXPECT_EQ(a.layout(), io::AnnDataLayout::Tagged);
  const CsrMatrix x = a.read_matrix("X");
  EXPECT_EQ(x.indptr, toy_matrix().indptr);
  EXPECT_EQ(x.indices, toy_matrix().indices);
  EXPECT_EQ(x.data, toy_matrix().data);
  EXPECT_EQ(a.read_matrix("counts").data, toy_matrix().data);
  EXPECT_EQ(a.matrix_info("normalized").storage, "dense");
  int64_t k = 0;
  EXPECT_EQ(a.read_obsm("X_scVI", &k), (std::vector<float>{0.5f, -1, 2, 3, 4.25f, 5, -6, 7}));
  EXPECT_EQ(k, 2);
  const DataFrame& obs = a.obs();
  EXPECT_EQ(obs.column_names(), (std::vector<std::string>{"cell_type", "score", "n_genes", "age", "keep", "batch", "leiden"}));
  const Column& ct = *obs.find("cell_type");
  EXPECT_EQ(ct.cat.categories, (std::vector<std::string>{"B", "NK", "T"}));
  EXPECT_EQ(ct.cat.codes, (std::vector<int32_t>{2, 0, 2, 1}));
  EXPECT_EQ(obs.find("score")->numeric[0], 0.5);
  EXPECT_TRUE(std::isnan(obs.find("score")->numeric[1]));
  EXPECT_EQ(obs.find("n_genes")->dtype, "int64");
  EXPECT_EQ(obs.find("age")->dtype, "nullable-integer");
  EXPECT_TRUE(std::isnan(obs.find("age")->numeric[1]));
  EXPECT_EQ(obs.find("age")->numeric[3], 57);
  EXPECT_EQ(obs.find("keep")->kind, ColumnKind::Boolean);
  EXPECT_EQ(obs.find("keep")->numeric, (std::vector<double>{1, 0, 1, 1}));
  EXPECT_EQ(obs.find("batch")->kind, ColumnKind::Categorical);  // strings become categoricals in obs
  EXPECT_EQ(a.var().find("dispersion")->numeric[2], 0.3);

  // The tagged layout, element by element.
  const Node root = Node::root(io::H5File::open_read(out));
  EXPECT_EQ(attr(root, "/", "encoding-type"), "anndata");
  EXPECT_EQ(attr(root, "/", "encoding-version"), "0.1.0");
  EXPECT_EQ(attr(root, "/X", "encoding-type"), "csr_matrix");
  EXPECT_EQ(root.open("X").attr_ints("shape"), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(attr(root, "/obs", "encoding-type"), "dataframe");
  EXPECT_EQ(attr(root, "/obs", "encoding-version"), "0.2.0");
  EXPECT_EQ(attr(root, "/obs", "_index"), "_index");
  EXPECT_EQ(attr(root, "/obs/_index", "encoding-type"), "string-array");
  EXPECT_EQ(attr(root, "/obs/cell_type", "encoding-type"), "categorical");
  EXPECT_EQ(root.open("obs/cell_type").attr_bool("ordered"), false);
  EXPECT_EQ(root.open("obs/cell_type/codes").dtype_name(), "int8");
  EXPECT_EQ(root.open("obs/keep").dtype_name(), "bool");
  EXPECT_EQ(attr(root, "/obs/age", "encoding-type"), "nullable-integer");
  EXPECT_EQ(attr(root, "/obsm", "encoding-type"), "dict");
  EXPECT_EQ(attr(root, "/obsm/X_scVI", "encoding-type"), "array");
  EXPECT_EQ(root.open("obsm/X_scVI").dtype_name(), "float32");
  EXPECT_EQ(attr(root, "/varp", "encoding-type"), "dict");
  EXPECT_EQ(attr(root, "/uns/cuvi", "encoding-type"), "dict");
  EXPECT_EQ(attr(root, "/uns/cuvi/model", "encoding-type"), "string");
  EXPECT_EQ(io::read_scalar_string(root.open("uns/cuvi/model")), "SCVI");
  EXPECT_EQ(attr(root, "/uns/cuvi/elbo", "encoding-type"), "numeric-scalar");
  EXPECT_EQ(io::read_scalar_string(root.open("uns/cuvi/n_epochs")), "400");
  EXPECT_EQ(io::read_strings(root.open("uns/cuvi/genes"), 1 << 20), (std::vector<std::string>{"g0", "g1", "g2"}));
  const DataFrame de = io::read_dataframe(root.open("uns/de/results"), 1 << 20);
  EXPECT_EQ(de.index, (std::vector<std::string>{"g2", "g0"}));
  EXPECT_EQ(de.find("group")->kind, ColumnKind::String);  // uns tables keep strings
  EXPECT_EQ(de.find("lfc")->numeric, (std::vector<double>{1.5, -0.25}));
  EXPECT_EQ(de.find("significant")->numeric, (std::vector<double>{1, 0}));
  hsize_t chunk = 0;
  EXPECT_EQ(filters_of(root.open("X/data"), &chunk), 1);  // gzip
  EXPECT_EQ(root.open("X/data").dims()[0], 6);
}

TEST(IoWriter, ChunksStayWithin64KTo1MElements) {
  TempDir dir;
  const int64_t n = 150000;
  std::vector<std::string> names(n);
  for (int64_t i = 0; i < n; ++i) names[i] = "c" + std::to_string(i);
  H5adWriter w = H5adWriter::create(dir.file("big.h5ad"), names, {"g0", "g1"});
  std::vector<float> latent(size_t(n) * 30, 1.f);
  w.add_obsm("X_scVI", latent.data(), n, 30);
  w.commit();
  const Node root = Node::root(io::H5File::open_read(dir.file("big.h5ad")));
  for (const char* p : {"obsm/X_scVI", "obs/_index"}) {
    hsize_t chunk = 0;
    EXPECT_EQ(filters_of(root.open(p), &chunk), 0) << p;
    EXPECT_GE(chunk, hsize_t(65536)) << p;
    EXPECT_LE(chunk, hsize_t(1) << 20) << p;
  }
}

TEST(IoWriter, CopyOfRealFileAddsAndReplaces) {
  CUVI_DATA_OR_SKIP(data);
  TempDir dir;
  const std::string in = data + "/pbmc-onek1k-40donors/pbmc_onek1k_40donors_7811cells.h5ad";
  const std::string out = dir.file("out.h5ad");
  const int64_t n = 7811;
  std::vector<float> z(size_t(n) * 10);
  for (size_t i = 0; i < z.size(); ++i) z[i] = float(i % 97) * 0.5f;
  std::vector<std::string> leiden(n);
  for (int64_t i = 0; i < n; ++i) leiden[i] = std::to_string(i % 7);
  {
    H5adWriter w = H5adWriter::copy_of(in, out);
    EXPECT_EQ(w.n_obs(), n);
    w.add_obsm("X_scVI", z.data(), n, 10);
    w.add_obs_column(Column::texts("leiden", leiden));
    w.add_uns_string("cuvi/model", "SCVI");
    w.commit();
  }
  const AnnDataFile src = AnnDataFile::open(in), a = AnnDataFile::open(out);
  const CsrMatrix x0 = src.read_matrix("X"), x1 = a.read_matrix("X");
  EXPECT_EQ(x1.indptr, x0.indptr);
  EXPECT_EQ(x1.indices, x0.indices);
  EXPECT_EQ(x1.data, x0.data);
  EXPECT_EQ(a.obs().column_names(), (std::vector<std::string>{"donor", "cell_type", "sex", "age", "leiden"}));
  EXPECT_EQ(a.obs().find("leiden")->cat.categories.size(), 7u);
  int64_t k = 0;
  EXPECT_EQ(a.read_obsm("X_scVI", &k), z);

  // Writing onto the same path again replaces keys in place of adding duplicates.
  std::vector<float> z2(size_t(n) * 3, 2.f);
  {
    H5adWriter w = H5adWriter::copy_of(out, out);
    w.add_obsm("X_scVI", z2.data(), n, 3);
    w.add_obs_column(Column::numbers("leiden", std::vector<double>(n, 1.0)));
    w.add_uns_string("cuvi/model", "LinearSCVI");
    w.commit();
  }
  const AnnDataFile b = AnnDataFile::open(out);
  EXPECT_EQ(b.read_obsm("X_scVI", &k), z2);
  EXPECT_EQ(k, 3);
  EXPECT_EQ(b.obs().column_names(), (std::vector<std::string>{"donor", "cell_type", "sex", "age", "leiden"}));
  EXPECT_EQ(b.obs().find("leiden")->kind, ColumnKind::Numeric);
  const Node root = Node::root(io::H5File::open_read(out));
  EXPECT_EQ(io::read_scalar_string(root.open("uns/cuvi/model")), "LinearSCVI");
}

TEST(IoWriter, CopyOfLegacy07AndRefusalOf06) {
  CUVI_DATA_OR_SKIP(data);
  TempDir dir;
  const std::string out = dir.file("v07.h5ad");
  {
    H5adWriter w = H5adWriter::copy_of(data + "/format-fixtures/anndata-archives/adata_v0.7.8.h5ad", out);
    std::vector<float> z(60, 1.5f);
    w.add_obsm("X_scVI", z.data(), 30, 2);
    w.add_obs_column(Column::categorical_from_strings("leiden", std::vector<std::string>(30, "0")));
    w.commit();
  }
  const AnnDataFile a = AnnDataFile::open(out);
  EXPECT_EQ(a.obs().find("obs_cat")->cat.codes[0], 13);  // the 0.7 columns still read
  EXPECT_EQ(a.obs().find("leiden")->cat.categories, (std::vector<std::string>{"0"}));
  EXPECT_EQ(a.obsm_keys(), (std::vector<std::string>{"X_scVI", "array", "df", "sparse"}));
  EXPECT_IO_ERROR(H5adWriter::copy_of(data + "/format-fixtures/anndata-archives/adata_v0.5.0.h5ad", dir.file("x.h5ad")),
                  "the anndata <= 0.6 layout (compound obs/var) cannot be extended");
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.h5ad")));
}

TEST(IoWriter, FailureOrNoCommitLeavesNoOutput) {
  TempDir dir;
  const std::string out = dir.file("never.h5ad");
  {
    H5adWriter w = H5adWriter::create(out, {"a", "b", "c", "d"}, {"g0", "g1", "g2"});
    w.set_x(toy_matrix());
    EXPECT_TRUE(std::filesystem::exists(w.temp_path()));
    EXPECT_EQ(std::filesystem::path(w.temp_path()).parent_path(), std::filesystem::path(dir.path()));
  }
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  const auto short_obsm = [&] {
    H5adWriter w = H5adWriter::create(out, {"a", "b", "c", "d"}, {"g0", "g1", "g2"});
    std::vector<float> z(6, 0.f);
    w.add_obsm("X_scVI", z.data(), 3, 2);
    w.commit();
  };
  EXPECT_IO_ERROR(short_obsm(), "obsm 'X_scVI' has 3 rows but obs has 4");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  H5adWriter w = H5adWriter::create(out, {"a", "b", "c", "d"}, {"g0", "g1", "g2"});
  CsrMatrix bad = toy_matrix();
  bad.indices[1] = 7;
  EXPECT_IO_ERROR(w.set_x(bad), "X: column index 7 in row 0 is out of range [0, 3)");
  CsrMatrix wrong = toy_matrix();
  wrong.n_cols = 5;
  EXPECT_IO_ERROR(w.add_layer_csr("counts", wrong), "layer 'counts' of shape (4, 5) does not match (4, 3)");
  EXPECT_IO_ERROR(w.add_obs_column(Column::numbers("x", {1, 2})), "obs column 'x' has 2 values but obs has 4 rows");
  EXPECT_IO_ERROR(w.add_obsm("a/b", nullptr, 4, 0), "invalid obsm name 'a/b'");
  w.commit();
  EXPECT_IO_ERROR(w.add_uns_string("x", "y"), "after commit()");
  EXPECT_TRUE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace cuvi::test
