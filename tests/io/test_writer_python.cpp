// Interoperability: files written by H5adWriter (new, and a copy of an anndata 0.7 file) open unchanged in
// python anndata and scanpy. Runs when an interpreter with both is found ($CUVI_PYTHON, then python3).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "io/h5ad_writer.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

using io::Column;
using io::DataFrame;

int run(const std::string& cmd, std::string* out) { return run_command(cmd, out); }

const char* kScript = R"PY(
import sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, anndata as ad, scanpy as sc
a = ad.read_h5ad(sys.argv[1])
assert a.shape == (4, 3), a.shape
assert list(a.obs_names) == ["c0", "c1", "c2", "c3"]
assert list(a.var_names) == ["g0", "g1", "g2"]
assert str(a.obs["cell_type"].dtype) == "category"
assert list(a.obs["cell_type"]) == ["T", "B", "T", "NK"]
assert list(a.obs["cell_type"].cat.categories) == ["B", "NK", "T"]
assert a.obs["score"].iloc[0] == 0.5 and np.isnan(a.obs["score"].iloc[1])
assert str(a.obs["n_genes"].dtype) == "int64"
assert str(a.obs["age"].dtype) == "Int64" and a.obs["age"].isna().iloc[1] and a.obs["age"].iloc[3] == 57
assert a.obs["keep"].dtype == bool and list(a.obs["keep"]) == [True, False, True, True]
assert list(a.obs.columns) == ["cell_type", "score", "n_genes", "age", "keep", "batch", "leiden"]
assert a.var["highly_variable"].dtype == bool
assert a.X.format == "csr"
assert np.array_equal(a.X.toarray(), np.array([[1, 0, 2], [0, 0, 0], [3, 1, 0], [0, 5, 1]], dtype=np.float32))
assert a.X.dtype == np.float32
assert a.obsm["X_scVI"].dtype == np.float32 and a.obsm["X_scVI"].shape == (4, 2)
assert a.obsm["X_scVI"][1, 0] == 2.0
assert a.layers["counts"].nnz == 6 and a.layers["normalized"].shape == (4, 3)
assert a.uns["cuvi"]["model"] == "SCVI"
assert a.uns["cuvi"]["n_epochs"] == 400 and a.uns["cuvi"]["elbo"] == -123.5
assert list(a.uns["cuvi"]["genes"]) == ["g0", "g1", "g2"]
de = a.uns["de"]["results"]
assert list(de.index) == ["g2", "g0"] and list(de["group"]) == ["T", "B"]
assert list(de["lfc"]) == [1.5, -0.25] and de["significant"].dtype == bool
sc.pp.normalize_total(a, target_sum=10)
sc.pp.log1p(a)
sc.pp.calculate_qc_metrics(a, percent_top=None, inplace=True)
assert "total_counts" in a.obs
b = ad.read_h5ad(sys.argv[2])
assert b.shape == (30, 20)
assert str(b.obs["obs_cat"].dtype) == "category"
assert list(b.obs["leiden"].cat.categories) == ["0"]
assert b.obsm["X_scVI"].shape == (30, 2) and b.obsm["X_scVI"][0, 0] == 1.5
assert b.raw is not None and b.raw.shape == (30, 40)
print("OK", a.shape, b.shape)
)PY";

TEST(IoWriterPython, AnndataAndScanpyReadOurFiles) {
  CUVI_PYTHON_OR_SKIP(py, "anndata, scanpy");
  CUVI_DATA_OR_SKIP(data);
  TempDir dir;
  const std::string fresh = dir.file("fresh.h5ad"), copy = dir.file("copy07.h5ad");
  DataFrame obs;
  obs.index = {"c0", "c1", "c2", "c3"};
  obs.columns.push_back(Column::categorical_from_strings("cell_type", {"T", "B", "T", "NK"}));
  obs.columns.push_back(Column::numbers("score", {0.5, std::nan(""), 1.5, -2}));
  obs.columns.push_back(Column::numbers("n_genes", {3, 0, 4, 6}, true));
  obs.columns.push_back(Column::numbers("age", {30, std::nan(""), 41, 57}, true));
  obs.columns.push_back(Column::booleans("keep", {true, false, true, true}));
  obs.columns.push_back(Column::texts("batch", {"b1", "b2", "b1", "b1"}));
  DataFrame var;
  var.index = {"g0", "g1", "g2"};
  var.columns.push_back(Column::booleans("highly_variable", {true, false, true}));
  io::CsrMatrix x;
  x.n_rows = 4;
  x.n_cols = 3;
  x.indptr = {0, 2, 2, 4, 6};
  x.indices = {0, 2, 0, 1, 1, 2};
  x.data = {1, 2, 3, 1, 5, 1};
  {
    io::WriteOptions wo;
    wo.gzip_level = 4;
    io::H5adWriter w = io::H5adWriter::create(fresh, obs, var, wo);
    w.set_x(x);
    const std::vector<float> z = {0.5f, -1, 2, 3, 4.25f, 5, -6, 7};
    w.add_obsm("X_scVI", z.data(), 4, 2);
    w.add_layer_csr("counts", x);
    const std::vector<float> norm(12, 0.25f);
    w.add_layer_dense("normalized", norm.data(), 4, 3);
    w.add_obs_column(Column::categorical_from_strings("leiden", {"1", "0", "1", "2"}));
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
    w.commit();
  }
  {
    io::H5adWriter w = io::H5adWriter::copy_of(data + "/format-fixtures/anndata-archives/adata_v0.7.8.h5ad", copy);
    const std::vector<float> z(60, 1.5f);
    w.add_obsm("X_scVI", z.data(), 30, 2);
    w.add_obs_column(Column::categorical_from_strings("leiden", std::vector<std::string>(30, "0")));
    w.commit();
  }
  const std::string script = dir.file("check.py");
  std::ofstream(script) << kScript;
  std::string out;
  const int rc = run(py + " " + script + " " + fresh + " " + copy, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("OK (4, 3) (30, 20)"), std::string::npos) << out;
}

}  // namespace
}  // namespace cuvi::test
