// The cuvi command line for MRVI end to end on a small simulated cohort: train mrvi, latent (u and z),
// info (sample registry and covariates); bad input gives one error line, a non-zero exit and no output
// file; the SCVI commands refuse MRVI-only options.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "io/anndata.h"
#include "tests/cli/cli_test_util.h"

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

}  // namespace
}  // namespace cuvi::test
