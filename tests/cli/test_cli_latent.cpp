// cuvi neighbors / cluster / benchmark end to end on the scib fixtures: scanpy's layout, labels in obs,
// the Benchmarker table against scib-metrics, one-line errors without output files, and scanpy's UMAP and
// Leiden running on cuvi's graph in Python.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "io/anndata.h"
#include "io/h5ad_writer.h"
#include "tests/cli/cli_test_util.h"
#include "tests/workflow/scib_fixture.h"
#include "tools/workflow/scib_nmi_ari.h"

namespace cuvi::test {
namespace {

class CliLatent : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = std::filesystem::temp_directory_path() / ("cuvi_latent_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const CliResult r = run_cuvi("neighbors --data " + scib_fixture("cellbench.h5ad") +
                                 " --use-rep X_center --device cpu --out " + f("nn.h5ad") + " --quiet");
    ASSERT_EQ(r.status, 0) << r.output;
    io::H5adWriter w = io::H5adWriter::copy_of(scib_fixture("cellbench.h5ad"), f("nan.h5ad"));
    std::vector<float> bad(499 * 2, 1.f);
    bad[7 * 2 + 1] = std::nanf("");
    w.add_obsm("X_nan", bad.data(), 499, 2);
    w.commit();
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir); }
  static std::string f(const std::string& name) { return (dir / name).string(); }
  static std::vector<int32_t> obs_codes(const std::string& path, const std::string& key) {
    return io::AnnDataFile::open(path).obs().require(key, path).cat.codes;
  }
  static std::filesystem::path dir;
};
std::filesystem::path CliLatent::dir;

TEST_F(CliLatent, NeighborsWritesScanpysLayout) {
  const io::AnnDataFile a = io::AnnDataFile::open(f("nn.h5ad"));
  const int64_t n = a.n_obs();
  const io::CsrMatrix d = a.read_obsp("distances"), c = a.read_obsp("connectivities");
  EXPECT_EQ(d.nnz(), n * 14);  // 15 neighbours counting the cell, which obsp['distances'] leaves out
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = d.indptr[size_t(i)]; p < d.indptr[size_t(i + 1)]; ++p) EXPECT_NE(d.indices[size_t(p)], i);
  EXPECT_GE(c.nnz(), n * 14);  // the fuzzy union is symmetric: at least every k-NN pair
  const auto uns = a.uns_keys();
  EXPECT_NE(std::find(uns.begin(), uns.end(), "neighbors"), uns.end());
  const CliResult k = run_cuvi("neighbors --data " + scib_fixture("cellbench.h5ad") +
                               " --use-rep X_center --n-neighbors 30 --key-added k30 --device cpu --out " + f("nn30.h5ad") +
                               " --quiet");
  ASSERT_EQ(k.status, 0) << k.output;
  EXPECT_EQ(io::AnnDataFile::open(f("nn30.h5ad")).read_obsp("k30_distances").nnz(), n * 29);
}

TEST_F(CliLatent, ClusterLeidenKmeansWard) {
  const std::vector<int32_t> lines = obs_codes(scib_fixture("cellbench.h5ad"), "cell_line");
  const CliResult l = run_cuvi("cluster --data " + f("nn.h5ad") + " --method leiden --resolution 0.2 --out " + f("leiden.h5ad") + " --quiet");
  ASSERT_EQ(l.status, 0) << l.output;
  EXPECT_GT(workflow::nmi_score(obs_codes(f("leiden.h5ad"), "leiden"), lines), 0.7);
  const CliResult k = run_cuvi("cluster --data " + f("nn.h5ad") + " --method kmeans --n-clusters 3 --use-rep X_center --device cpu --out " +
                               f("km.h5ad") + " --quiet");
  ASSERT_EQ(k.status, 0) << k.output;
  EXPECT_GT(workflow::ari_score(obs_codes(f("km.h5ad"), "kmeans"), lines), 0.95);
  const CliResult w = run_cuvi("cluster --data " + f("nn.h5ad") + " --method ward --n-clusters 3 --use-rep X_center --key-added ward3 --out " +
                               f("ward.h5ad") + " --quiet");
  ASSERT_EQ(w.status, 0) << w.output;
  const std::vector<int32_t> ward = obs_codes(f("ward.h5ad"), "ward3");
  EXPECT_EQ(*std::max_element(ward.begin(), ward.end()), 2);
  EXPECT_GT(workflow::ari_score(ward, lines), 0.9);
}

// Bad input: one line naming the problem, exit status 1, no output file.
TEST_F(CliLatent, ErrorsNameTheProblem) {
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"neighbors --data " + scib_fixture("cellbench.h5ad") + " --use-rep X_scVI --out " + f("e1.h5ad"),
       "obsm 'X_scVI' not found in " + scib_fixture("cellbench.h5ad") + "; obsm: X_center, X_pca"},
      {"neighbors --data " + scib_fixture("cellbench.h5ad") + " --use-rep X_pca --n-neighbors 1 --out " + f("e2.h5ad"),
       "--n-neighbors 1 must be in [2, n_cells = 499]"},
      {"cluster --data " + scib_fixture("cellbench.h5ad") + " --method leiden --out " + f("e3.h5ad"),
       "obsp 'connectivities' not found in " + scib_fixture("cellbench.h5ad") + "; obsp: scanpy_connectivities, scanpy_distances"},
      {"neighbors --data " + f("nan.h5ad") + " --use-rep X_nan --out " + f("e8.h5ad"),
       f("nan.h5ad") + ": obsm 'X_nan' holds a non-finite value (NaN or Inf) in row 7"},
      {"cluster --data " + f("nn.h5ad") + " --method louvain --out " + f("e4.h5ad"),
       "unknown --method 'louvain' (leiden, kmeans, average, complete, ward)"},
      {"cluster --data " + f("nn.h5ad") + " --method kmeans --out " + f("e5.h5ad"), "--n-clusters is required for --method kmeans"},
      {"benchmark --data " + scib_fixture("cellbench.h5ad") + " --embeddings X_center --labels-key cell_line --batch-key tech --out " +
           f("e6.csv"),
       "column 'tech' not found"},
      {"benchmark --data " + scib_fixture("cellbench.h5ad") + " --embeddings X_center --labels-key cell_line --batch-key technology --out " +
           f("e7.csv"),
       "X not found"},
  };
  for (const Case& c : cases) {
    const CliResult r = run_cuvi(c.args);
    EXPECT_EQ(r.status, 1) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    for (const char* out : {"e1.h5ad", "e2.h5ad", "e3.h5ad", "e4.h5ad", "e5.h5ad", "e6.csv", "e7.csv", "e8.h5ad"})
      EXPECT_FALSE(std::filesystem::exists(f(out))) << out;
  }
}

// The CSV of `cuvi benchmark` carries scib-metrics' deterministic values (within 1e-3) for each embedding.
TEST_F(CliLatent, BenchmarkCsvMatchesScibMetrics) {
  const ScibDataset ds("cellbench");
  const CliResult r = run_cuvi("benchmark --data " + scib_fixture("cellbench.h5ad") +
                               " --embeddings X_pca X_center --labels-key cell_line --batch-key technology"
                               " --pre-integrated X_pca --device cpu --out " + f("scib.csv") + " --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  const Csv csv = read_csv(f("scib.csv"));
  ASSERT_EQ(csv.rows.size(), 3u);
  EXPECT_EQ(csv.header, read_csv(scib_fixture("cellbench_results.csv")).header);
  for (size_t e = 0; e < 2; ++e)
    for (const char* m : {"Isolated labels", "Silhouette label", "cLISI", "BRAS", "iLISI", "KBET", "Graph connectivity",
                          "PCR comparison"}) {
      const int col = csv.column(m);
      ASSERT_GE(col, 0) << m;
      EXPECT_NEAR(std::stod(csv.rows[e][size_t(col)]), ds.reference("exact", csv.rows[e][0], m), 1e-3)
          << csv.rows[e][0] << " " << m;
    }
}

TEST_F(CliLatent, ScanpyUmapAndLeidenRunOnCuvisGraph) {
  CUVI_PYTHON_OR_SKIP(py, "anndata, scanpy, igraph, leidenalg");
  ASSERT_EQ(run_cuvi("cluster --data " + f("nn.h5ad") + " --method leiden --out " + f("cl.h5ad") + " --quiet").status, 0);
  const std::string script = f("check.py");
  std::ofstream(script) << R"PY(
import sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, anndata as ad, scanpy as sc
from sklearn.metrics import adjusted_rand_score
a = ad.read_h5ad(sys.argv[1])
p = a.uns["neighbors"]["params"]
assert p["method"] == "umap" and p["n_neighbors"] == 15 and p["use_rep"] == "X_center", p
C = a.obsp["connectivities"]
assert abs(C - C.T).max() == 0 and C.diagonal().max() == 0
sc.tl.umap(a, random_state=0)
u = a.obsm["X_umap"]
assert u.shape == (a.n_obs, 2) and np.isfinite(u).all()
sc.tl.leiden(a, flavor="igraph", n_iterations=2, random_state=0, key_added="leiden_igraph")
sc.tl.leiden(a, key_added="leiden_la")  # the leidenalg flavor, scanpy's current default
for k in ("leiden_igraph", "leiden_la"):
    assert a.obs[k].nunique() >= 3, (k, a.obs[k].nunique())
c = ad.read_h5ad(sys.argv[2])
assert str(c.obs["leiden"].dtype) == "category"
ari = adjusted_rand_score(c.obs["leiden"], a.obs["leiden_igraph"])
assert ari > 0.8, ari  # cuvi's libigraph Leiden and scanpy's: same algorithm, different random draws
print("ok", ari)
)PY";
  const std::string cmd = py + " " + script + " " + f("nn.h5ad") + " " + f("cl.h5ad") + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  const int st = p ? pclose(p) : -1;
  EXPECT_EQ(st, 0) << out;
  EXPECT_NE(out.find("ok"), std::string::npos) << out;
}

}  // namespace
}  // namespace cuvi::test
