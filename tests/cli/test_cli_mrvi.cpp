// The cuvi command line for MRVI end to end on a small simulated cohort: train mrvi, latent (u and z),
// info (sample registry and covariates), the analyses' netCDF files as xarray reads them (the sample
// trees of distances --cluster as scipy computes them); bad input gives one error line, a non-zero exit
// and no output file; the SCVI commands refuse MRVI-only options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "io/anndata.h"
#include "tests/cli/cli_test_util.h"
#include "tests/test_env.h"

namespace cuvi::test {
namespace {

class CliMrvi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = std::filesystem::temp_directory_path() / ("cuvi_cli_mrvi_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const CliResult s = run_cuvi("simulate --out " + f("sim.h5ad") +
                                 " --n-cells 300 --n-genes 40 --n-cell-types 3 --n-donors 6 --quiet");
    ASSERT_EQ(s.status, 0) << s.output;
    const CliResult t = run_cuvi("train mrvi --data " + f("sim.h5ad") +
                                 " --sample-key donor --batch-key batch --labels-key cell_type --n-latent 6"
                                 " --n-latent-u 4 --encoder-n-hidden 16 --max-epochs 2 --device cpu --out " + f("m.cuvi"));
    ASSERT_EQ(t.status, 0) << t.output;
    train_output = t.output;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir); }
  static std::string f(const std::string& name) { return (dir / name).string(); }
  static std::filesystem::path dir;
  static std::string train_output;
};
std::filesystem::path CliMrvi::dir;
std::string CliMrvi::train_output;

TEST_F(CliMrvi, TrainReportsTheModelAndItsSamples) {
  EXPECT_NE(train_output.find("trained MRVI: 2 epochs"), std::string::npos) << train_output;
  EXPECT_NE(train_output.find("6 samples"), std::string::npos) << train_output;
  EXPECT_NE(train_output.find("mixture of 3 Gaussians guided by the labels (per-cell)"), std::string::npos)
      << train_output;
}

TEST_F(CliMrvi, InfoShowsSampleRegistryAndCovariates) {
  const CliResult i = run_cuvi("info " + f("m.cuvi"));
  ASSERT_EQ(i.status, 0) << i.output;
  EXPECT_NE(i.output.find("sample_key: donor [donor_0, donor_1"), std::string::npos) << i.output;
  EXPECT_NE(i.output.find("samples (6, registered order"), std::string::npos) << i.output;
  EXPECT_NE(i.output.find("condition"), std::string::npos) << "condition is constant within donors:\n" << i.output;
  EXPECT_EQ(i.output.find("cell_type  "), std::string::npos);
  const CliResult ok = run_cuvi("info " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --sample-cov-keys condition age");
  ASSERT_EQ(ok.status, 0) << ok.output;
  const CliResult bad = run_cuvi("info " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --sample-cov-keys cell_type");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("obs column 'cell_type' is not constant within sample 'donor_"), std::string::npos)
      << bad.output;
  EXPECT_EQ(bad.output.find("samples ("), std::string::npos) << "nothing printed before the error";
}

TEST_F(CliMrvi, LatentWritesUAndZ) {
  const CliResult r = run_cuvi("latent --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --out " + f("lat.h5ad") +
                               " --device cpu --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  const io::AnnDataFile lat = io::AnnDataFile::open(f("lat.h5ad"));
  int64_t cu = 0, cz = 0;
  const std::vector<float> u = lat.read_obsm("X_mrvi_u", &cu), z = lat.read_obsm("X_mrvi_z", &cz);
  EXPECT_EQ(cu, 4);
  EXPECT_EQ(cz, 6);
  ASSERT_EQ(u.size(), 300u * 4);
  ASSERT_EQ(z.size(), 300u * 6);
  double spread = 0;
  for (size_t i = 4; i < u.size(); ++i) spread += std::fabs(u[i] - u[i - 4]);
  EXPECT_GT(spread, 1e-3) << "cells must get different latents";
  EXPECT_NE(run_cuvi("latent --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --out " + f("bad.h5ad") +
                     " --obsm-key X").status, 0);
  EXPECT_FALSE(std::filesystem::exists(f("bad.h5ad")));
}

TEST_F(CliMrvi, BadInputIsOneErrorLine) {
  const CliResult no_key = run_cuvi("train mrvi --data " + f("sim.h5ad") + " --out " + f("x.cuvi"));
  EXPECT_EQ(no_key.status, 1);
  EXPECT_NE(no_key.output.find("--sample-key"), std::string::npos) << no_key.output;
  const CliResult missing = run_cuvi("train mrvi --data " + f("sim.h5ad") + " --sample-key patient --out " + f("x.cuvi"));
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.output.find("'patient'"), std::string::npos) << missing.output;
  const CliResult opt = run_cuvi("train mrvi --data " + f("sim.h5ad") + " --sample-key donor --label-prior both --out " +
                                 f("x.cuvi"));
  EXPECT_EQ(opt.status, 1);
  EXPECT_NE(opt.output.find("--label-prior 'both'"), std::string::npos) << opt.output;
  EXPECT_FALSE(std::filesystem::exists(f("x.cuvi")));
  const CliResult scvi_opt = run_cuvi("train scvi --data " + f("sim.h5ad") + " --sample-key donor --out " + f("x.cuvi"));
  EXPECT_EQ(scvi_opt.status, 1);
  EXPECT_NE(scvi_opt.output.find("sample-key"), std::string::npos) << scvi_opt.output;
  const CliResult help = run_cuvi("train mrvi --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("--gradient-clip-val 40"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("--early-stopping-patience 15"), std::string::npos) << help.output;
}

const char* kXarrayCheck = R"PY(
import sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, xarray as xr
d = xr.open_dataset(sys.argv[1])
assert set(d.data_vars) == {"cell", "cell_type", "cell_type_linkage", "cell_type_order", "cell_type_newick"}, list(d.data_vars)
assert d["cell"].dims == ("cell_name", "sample_x", "sample_y") and d["cell_type"].dims == ("cell_type_name", "sample_x", "sample_y")
assert np.allclose(d["cell_type"].values, d["cell_type"].values.transpose(0, 2, 1))
from scipy.cluster.hierarchy import linkage, leaves_list
from scipy.spatial.distance import squareform
L = d["cell_type_linkage"]
assert L.dims == ("cell_type_name", "merge", "linkage_col") and L.dtype == np.float64, (L.dims, L.dtype)
assert list(d["linkage_col"].values) == ["cluster_a", "cluster_b", "distance", "n_samples"]
assert L.attrs["linkage_method"] == "average"
assert d["cell_type_order"].dims == ("cell_type_name", "sample_order") and d["cell_type_newick"].dims == ("cell_type_name",)
S = d.sizes["sample_x"]
for g in d["cell_type_name"].values:
    Z = linkage(squareform(d["cell_type"].sel(cell_type_name=g).values), "average")
    got = L.sel(cell_type_name=g).values
    assert got.shape == (S - 1, 4) and np.allclose(got, Z, rtol=1e-6, atol=1e-7), (g, got, Z)
    order = d["cell_type_order"].sel(cell_type_name=g).values
    assert sorted(order.tolist()) == list(range(S)) and order.tolist() == leaves_list(Z).tolist(), (g, order)
    tree = str(d["cell_type_newick"].sel(cell_type_name=g).values.item())
    assert tree.endswith(";") and all(tree.count(str(s)) == 1 for s in d["sample_x"].values), (g, tree)
a = xr.open_dataset(sys.argv[2])
assert {"log_probs", "condition_log_probs", "condition_log_enrichs"} <= set(a.data_vars), list(a.data_vars)
o = xr.open_dataset(sys.argv[3])
assert o["is_admissible"].dtype == bool and o["log_ratios"].dims == ("cell_name", "sample")
e = xr.open_dataset(sys.argv[4])
assert {"beta", "effect_size", "pvalue", "padj", "lfc", "lfc_std", "pde"} <= set(e.data_vars), list(e.data_vars)
assert e["lfc"].dims == ("cell_name", "covariate", "gene") and e["beta"].dims == ("cell_name", "covariate", "latent_dim")
assert (e["padj"].values >= e["pvalue"].values - 1e-12).all()
print("OK", dict(e.sizes))
)PY";

TEST_F(CliMrvi, AnalysesWriteNetcdfThatXarrayReads) {
  const std::string base = "--model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --device cpu --quiet ";
  const CliResult d =
      run_cuvi("distances " + base + "--groupby cell_type --keep-cell --cluster --out " + f("dist.nc"));
  ASSERT_EQ(d.status, 0) << d.output;
  const CliResult a = run_cuvi("da " + base + "--sample-cov-keys condition --compute-log-enrichment --out " + f("da.nc"));
  ASSERT_EQ(a.status, 0) << a.output;
  const CliResult o = run_cuvi("outliers " + base + "--out " + f("out.nc"));
  ASSERT_EQ(o.status, 0) << o.output;
  const CliResult e = run_cuvi("de " + base + "--sample-cov-keys condition age --store-lfc --mc-samples 3 --out " +
                               f("de.nc"));
  ASSERT_EQ(e.status, 0) << e.output;
  const CliResult linf = run_cuvi("distances " + base + "--groupby batch --norm linf --sampled --mc-samples 2 --out " +
                                  f("linf.nc"));
  EXPECT_EQ(linf.status, 0) << linf.output;
  const std::string py = ::cuvi::test::find_python("xarray, netCDF4, scipy");
  if (py.empty()) {
    CUVI_SKIP_UNLESS_REQUIRED("CUVI_REQUIRE_PYTHON", "no python with xarray, netCDF4, scipy ($CUVI_PYTHON, python3)");
  }
  std::ofstream(f("check.py")) << kXarrayCheck;
  std::string out;
  const int rc = run_command(py + " " + f("check.py") + " " + f("dist.nc") + " " + f("da.nc") + " " + f("out.nc") + " " +
                                 f("de.nc"),
                             &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("OK {"), std::string::npos) << out;
}

TEST_F(CliMrvi, AnalysisErrorsAreOneLineAndLeaveNoFile) {
  const std::string base = "--model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --device cpu ";
  const CliResult none = run_cuvi("distances " + base + "--out " + f("e1.nc"));
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.output.find("--groupby keys, --keep-cell"), std::string::npos) << none.output;
  const CliResult l1 = run_cuvi("distances " + base + "--groupby batch --normalize --norm l1 --out " + f("e2.nc"));
  EXPECT_EQ(l1.status, 1);
  EXPECT_NE(l1.output.find("--normalize needs --norm l2"), std::string::npos) << l1.output;
  const CliResult cov = run_cuvi("da " + base + "--sample-cov-keys cell_type --out " + f("e3.nc"));
  EXPECT_EQ(cov.status, 1);
  EXPECT_NE(cov.output.find("not constant within sample 'donor_"), std::string::npos) << cov.output;
  const CliResult de = run_cuvi("de " + base + "--out " + f("e4.nc"));
  EXPECT_EQ(de.status, 1);
  EXPECT_NE(de.output.find("--sample-cov-keys"), std::string::npos) << de.output;
  const CliResult scvi_model = run_cuvi("distances --model " + f("m.cuvi") + ".missing --data " + f("sim.h5ad") +
                                        " --groupby batch --out " + f("e5.nc"));
  EXPECT_EQ(scvi_model.status, 1);
  // --cluster: the groupby matrices are what it clusters; the linkage methods are named.
  const CliResult no_groupby = run_cuvi("distances " + base + "--keep-cell --cluster --out " + f("e6.nc"));
  EXPECT_EQ(no_groupby.status, 1);
  EXPECT_NE(no_groupby.output.find("--cluster clusters the samples of the --groupby matrices: give --groupby KEY"),
            std::string::npos)
      << no_groupby.output;
  const CliResult method =
      run_cuvi("distances " + base + "--groupby batch --cluster --linkage single --out " + f("e7.nc"));
  EXPECT_EQ(method.status, 1);
  EXPECT_NE(method.output.find("--linkage 'single' is not one of: average, complete, ward"), std::string::npos)
      << method.output;
  const CliResult draws = run_cuvi("distances " + base + "--groupby batch --cluster --sampled --out " + f("e8.nc"));
  EXPECT_EQ(draws.status, 1);
  EXPECT_NE(draws.output.find("drop --sampled and --normalize"), std::string::npos) << draws.output;
  for (const CliResult* r : {&no_groupby, &method, &draws})
    EXPECT_EQ(std::count(r->output.begin(), r->output.end(), '\n'), 1) << "one line:\n" << r->output;
  for (const char* n : {"e1.nc", "e2.nc", "e3.nc", "e4.nc", "e5.nc", "e6.nc", "e7.nc", "e8.nc"})
    EXPECT_FALSE(std::filesystem::exists(f(n))) << n;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << "temporary file left: " << e.path();
}

}  // namespace
}  // namespace cuvi::test
