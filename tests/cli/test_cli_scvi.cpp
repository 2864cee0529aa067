// The cuvi command line end to end on a small simulated file: simulate, train, latent, normalize,
// info, metrics; bad input gives one error line and a non-zero exit; outputs open in python anndata
// where it is installed ($CUVI_PYTHON or python3 with anndata and scanpy).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "io/anndata.h"
#include "tests/cli/cli_test_util.h"
#include "tests/test_env.h"

namespace cuvi::test {
namespace {

using Result = CliResult;
Result run(const std::string& args) { return run_cuvi(args); }

class CliScvi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = std::filesystem::temp_directory_path() / ("cuvi_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const Result s = run("simulate --out " + f("sim.h5ad") + " --n-cells 400 --n-genes 80 --n-cell-types 3 --quiet");
    ASSERT_EQ(s.status, 0) << s.output;
    const Result t = run("train scvi --data " + f("sim.h5ad") +
                         " --batch-key batch --labels-key cell_type --n-hidden 16 --n-latent 5 --max-epochs 3"
                         " --device cpu --out " + f("m.cuvi"));
    ASSERT_EQ(t.status, 0) << t.output;
    train_output = t.output;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir); }
  static std::string f(const std::string& name) { return (dir / name).string(); }
  static std::filesystem::path dir;
  static std::string train_output;
};
std::filesystem::path CliScvi::dir;
std::string CliScvi::train_output;

TEST_F(CliScvi, TrainReportsDeviceAndWritesAModel) {
  EXPECT_NE(train_output.find("device: cpu"), std::string::npos) << train_output;
  EXPECT_NE(train_output.find("trained SCVI: 3 epochs"), std::string::npos) << train_output;
  const Result i = run("info " + f("m.cuvi"));
  ASSERT_EQ(i.status, 0) << i.output;
  EXPECT_NE(i.output.find("batch_key: batch"), std::string::npos) << i.output;
  EXPECT_NE(i.output.find("elbo_train"), std::string::npos) << i.output;
}

TEST_F(CliScvi, LatentAndNormalizedExpressionLandInTheOutputFile) {
  ASSERT_EQ(run("latent --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --out " + f("lat.h5ad") +
                " --n-samples 2 --quiet").status, 0);
  const io::AnnDataFile lat = io::AnnDataFile::open(f("lat.h5ad"));
  int64_t cols = 0;
  const std::vector<float> z = lat.read_obsm("X_scVI", &cols);
  EXPECT_EQ(cols, 5);
  EXPECT_EQ(int64_t(z.size()), 400 * 5);
  lat.read_obsm("X_scVI_sample_2", &cols);
  EXPECT_EQ(cols, 5);
  const Result n = run("normalize --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --out " + f("norm.h5ad") +
                       " --library-size 10000 --transform-batch batch_0 --quiet");
  ASSERT_EQ(n.status, 0) << n.output;
  const io::AnnDataFile norm = io::AnnDataFile::open(f("norm.h5ad"));
  const auto layers = norm.layers();
  EXPECT_NE(std::find(layers.begin(), layers.end(), "scvi_normalized"), layers.end());
  const io::CsrMatrix m = norm.read_matrix("scvi_normalized", io::ReadOptions{{}, {}, false});
  ASSERT_EQ(m.n_rows, 400);
  for (int64_t r = 0; r < 3; ++r) {  // each row sums to the library size
    double s = 0;
    for (int64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) s += m.data[k];
    EXPECT_NEAR(s, 10000.0, 1.0);
  }
  const Result g = run("normalize --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --out " + f("genes.h5ad") +
                       " --genes gene_03 gene_07 --quiet");
  ASSERT_EQ(g.status, 0) << g.output;
  EXPECT_EQ(io::AnnDataFile::open(f("genes.h5ad")).n_vars(), 2);
}

TEST_F(CliScvi, BadInputIsOneLineAndNonZero) {
  const Result a = run("train scvi --data " + f("sim.h5ad") + " --batch-key no_such_column --out " + f("x.cuvi"));
  EXPECT_EQ(a.status, 1);
  EXPECT_NE(a.output.find("no_such_column"), std::string::npos) << a.output;
  EXPECT_NE(a.output.find("batch"), std::string::npos) << "the error should list the available columns";
  EXPECT_FALSE(std::filesystem::exists(f("x.cuvi")));
  const Result b = run("train scvi --data " + f("missing.h5ad") + " --out " + f("x.cuvi"));
  EXPECT_EQ(b.status, 1);
  EXPECT_EQ(std::count(b.output.begin(), b.output.end(), '\n'), 1) << b.output;
  const Result c = run("latent --model " + f("sim.h5ad") + " --data " + f("sim.h5ad") + " --out " + f("y.h5ad"));
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.output.find("not a cuvi model file"), std::string::npos) << c.output;
  EXPECT_FALSE(std::filesystem::exists(f("y.h5ad")));
  const Result d = run("train scvi --data " + f("sim.h5ad") + " --dispersion gene-cluster --out " + f("x.cuvi"));
  EXPECT_EQ(d.status, 1);
  EXPECT_NE(d.output.find("gene-cluster"), std::string::npos) << d.output;
  const Result e = run("normalize --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --out " + f("z.h5ad") +
                       " --transform-batch batch_9");
  EXPECT_EQ(e.status, 1);
  EXPECT_NE(e.output.find("batch_9"), std::string::npos) << e.output;
}

TEST_F(CliScvi, OutputsOpenInPythonAnndata) {
  CUVI_PYTHON_OR_SKIP(py, "anndata, scanpy");
  ASSERT_EQ(run("latent --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --out " + f("lat2.h5ad") + " --quiet")
                .status,
            0);
  const std::string script = "import anndata as ad, scanpy as sc; a = ad.read_h5ad('" + f("lat2.h5ad") +
                             "'); assert a.obsm['X_scVI'].shape == (400, 5); "
                             "sc.pp.neighbors(a, use_rep='X_scVI'); print('ok')";
  EXPECT_EQ(std::system((py + " -c \"" + script + "\" >/dev/null 2>&1").c_str()), 0);
}

}  // namespace
}  // namespace cuvi::test
