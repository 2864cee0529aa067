// The cuvi command line for MULTIVI end to end: train multivi on a simulated multiome file and on the
// organize_multiome_anndatas inputs (paired + RNA-only + ATAC-only), latent / normalize / accessibility
// outputs, DE and DA tables with scvi-tools' columns; bad input gives one error line, a non-zero exit
// and no output file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "io/anndata.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/fixture_reader.h"
#include "tools/workflow/model_file.h"

namespace cuvi::test {
namespace {

class CliMultivi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = std::filesystem::temp_directory_path() / ("cuvi_cli_multivi_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const CliResult s = run_cuvi("simulate --multiome --out " + f("sim.h5ad") +
                                 " --n-cells 300 --n-genes 40 --atac-peaks 60 --n-cell-types 3 --quiet");
    ASSERT_EQ(s.status, 0) << s.output;
    const CliResult t = run_cuvi("train multivi --data " + f("sim.h5ad") +
                                 " --batch-key batch --max-epochs 3 --device cpu --threads 1 --out " + f("m.cuvi"));
    ASSERT_EQ(t.status, 0) << t.output;
    train_output = t.output;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir); }
  static std::string f(const std::string& name) { return (dir / name).string(); }
  static std::string data(const std::string& name) { return fixture_dir("multivi/data") + "/" + name; }
  static std::string inputs() { return " --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --device cpu --threads 1"; }
  static std::filesystem::path dir;
  static std::string train_output;
};
std::filesystem::path CliMultivi::dir;
std::string CliMultivi::train_output;

TEST_F(CliMultivi, TrainReportsDataModelAndClassifier) {
  EXPECT_NE(train_output.find("300 cells (300 paired, 0 RNA-only, 0 ATAC-only) x 40 genes + 60 regions"),
            std::string::npos) << train_output;
  EXPECT_NE(train_output.find("n_hidden 7, n_latent 2"), std::string::npos) << "scvi-tools' size rules\n" << train_output;
  EXPECT_NE(train_output.find("adversarial batch classifier on"), std::string::npos) << train_output;
  EXPECT_NE(train_output.find("trained MULTIVI: 3 epochs"), std::string::npos) << train_output;
  const CliResult i = run_cuvi("info " + f("m.cuvi"));
  ASSERT_EQ(i.status, 0) << i.output;
  EXPECT_NE(i.output.find("regions: chr"), std::string::npos) << i.output;
  const workflow::ModelFile m = workflow::read_model_file(f("m.cuvi"));
  ASSERT_TRUE(m.history.count("reconstruction_loss_validation"))
      << "early stopping monitors the validation reconstruction loss, which must be logged";
  EXPECT_EQ(m.history.at("reconstruction_loss_validation").size(), 3u);
  EXPECT_GT(m.weights.count("adversarial_classifier.classifier.1.weight"), 0u);
}

TEST_F(CliMultivi, LatentNormalizeAndAccessibilityCoverEveryCell) {
  ASSERT_EQ(run_cuvi("latent" + inputs() + " --out " + f("lat.h5ad")).status, 0);
  const io::AnnDataFile lat = io::AnnDataFile::open(f("lat.h5ad"));
  int64_t L = 0;
  const std::vector<float> z = lat.read_obsm("X_multivi", &L);
  EXPECT_EQ(L, 2);
  EXPECT_EQ(int64_t(z.size()), 300 * L);
  EXPECT_EQ(lat.n_vars(), 100) << "genes and regions";
  EXPECT_NE(lat.obs().find("modality"), nullptr);

  ASSERT_EQ(run_cuvi("normalize" + inputs() + " --out " + f("norm.h5ad")).status, 0);
  const io::AnnDataFile norm = io::AnnDataFile::open(f("norm.h5ad"));
  EXPECT_EQ(norm.n_vars(), 40);
  const io::CsrMatrix px = norm.read_matrix("multivi_normalized", io::ReadOptions{std::nullopt, std::nullopt, false});
  for (int64_t i = 0; i < px.n_rows; ++i) {
    double s = 0;
    for (int64_t k = px.indptr[i]; k < px.indptr[i + 1]; ++k) s += px.data[k];
    EXPECT_NEAR(s, 1.0, 1e-4) << "px_scale of cell " << i << " is a softmax over the genes";
  }

  const CliResult acc = run_cuvi("accessibility" + inputs() + " --threshold 0.3 --out " + f("acc.h5ad"));
  ASSERT_EQ(acc.status, 0) << acc.output;
  const io::AnnDataFile a = io::AnnDataFile::open(f("acc.h5ad"));
  EXPECT_EQ(a.n_vars(), 60);
  EXPECT_EQ(a.matrix_info("multivi_accessibility").storage, "csr") << "a threshold gives scvi-tools' sparse output";
  const io::CsrMatrix p = a.read_matrix("multivi_accessibility", io::ReadOptions{std::nullopt, std::nullopt, false});
  for (float v : p.data) {
    EXPECT_GE(v, 0.3f);
    EXPECT_LE(v, 1.f);
  }
}

TEST_F(CliMultivi, DeAndDaWriteScviToolsColumns) {
  const CliResult de = run_cuvi("de" + inputs() + " --groupby cell_type --out " + f("de.csv"));
  ASSERT_EQ(de.status, 0) << de.output;
  const Csv d = read_csv(f("de.csv"));
  const std::vector<std::string> want = {"",        "proba_de", "proba_not_de", "bayes_factor", "scale1",
                                         "scale2",  "pseudocounts", "delta", "lfc_mean", "lfc_median",
                                         "lfc_std", "lfc_min", "lfc_max", "raw_mean1", "raw_mean2",
                                         "non_zeros_proportion1", "non_zeros_proportion2", "raw_normalized_mean1",
                                         "raw_normalized_mean2", "is_de_fdr_0.05", "comparison", "group1", "group2"};
  EXPECT_EQ(d.header, want);
  EXPECT_EQ(d.rows.size(), 3u * 40u) << "one-vs-rest for each of the 3 cell types";
  EXPECT_EQ(d.rows[0][size_t(d.column("pseudocounts"))], "1e-06") << "MULTIVI's default pseudocount";

  const CliResult da = run_cuvi("da" + inputs() + " --groupby cell_type --group1 type_0 --out " + f("da.csv"));
  ASSERT_EQ(da.status, 0) << da.output;
  const Csv t = read_csv(f("da.csv"));
  EXPECT_EQ(t.header, (std::vector<std::string>{"", "prob_da", "is_da_fdr", "bayes_factor", "effect_size", "emp_effect",
                                                "est_prob1", "est_prob2", "emp_prob1", "emp_prob2"}));
  ASSERT_EQ(t.rows.size(), 60u);
  const io::AnnDataFile sim = io::AnnDataFile::open(f("sim.h5ad"));
  for (size_t j = 0; j < 60; ++j) {
    EXPECT_EQ(t.rows[j][0], sim.var().index[40 + j]) << "DA rows keep the region order";
    const double e1 = std::stod(t.rows[j][8]), e2 = std::stod(t.rows[j][9]), emp = std::stod(t.rows[j][5]);
    EXPECT_NEAR(emp, e2 - e1, 1e-12);
    const double s1 = std::stod(t.rows[j][6]), s2 = std::stod(t.rows[j][7]), eff = std::stod(t.rows[j][4]);
    EXPECT_NEAR(eff, s2 - s1, 1e-6);
  }
}

TEST_F(CliMultivi, OrganizedInputsTrainAndImputeMissingModalities) {
  const std::string in = " --data " + data("multi.h5ad") + " --rna-data " + data("rna_only.h5ad") + " --atac-data " +
                         data("atac_only.h5ad") + " --device cpu --threads 1";
  const CliResult t = run_cuvi("train multivi" + in + " --batch-key batch --max-epochs 2 --batch-size 8 --out " + f("o.cuvi"));
  ASSERT_EQ(t.status, 0) << t.output;
  EXPECT_NE(t.output.find("19 cells (10 paired, 5 RNA-only, 4 ATAC-only)"), std::string::npos) << t.output;
  ASSERT_EQ(run_cuvi("accessibility --model " + f("o.cuvi") + in + " --out " + f("oacc.h5ad")).status, 0);
  const io::AnnDataFile a = io::AnnDataFile::open(f("oacc.h5ad"));
  const io::Column& kind = a.obs().require("modality", "oacc.h5ad");
  const io::CsrMatrix p = a.read_matrix("multivi_accessibility", io::ReadOptions{std::nullopt, std::nullopt, false});
  for (int64_t i = 0; i < p.n_rows; ++i) {
    if (kind.text(i) != "expression") continue;
    EXPECT_EQ(p.indptr[i + 1] - p.indptr[i], 8) << "RNA-only cell " << i << " gets an estimate for every region";
  }
}

TEST_F(CliMultivi, BadInputFailsWithOneLineAndNoOutput) {
  auto fails = [&](const std::string& args, const std::string& message, const std::string& out) {
    const CliResult r = run_cuvi(args);
    EXPECT_EQ(r.status, 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << out;
  };
  fails("da" + inputs() + " --groupby cell_type --out " + f("x.csv"), "differential accessibility compares one --group1",
        f("x.csv"));
  fails("train multivi --data " + data("unpaired.h5mu") + " --atac-modality peaks --out " + f("x.cuvi"),
        "no modality 'peaks' (modalities: rna, atac)", f("x.cuvi"));
  fails("train multivi --data " + data("rna_only.h5ad") + " --out " + f("x.cuvi"), "no 'feature_types' column",
        f("x.cuvi"));
  fails("train multivi --data " + f("sim.h5ad") + " --labels-key cell_type --out " + f("x.cuvi"),
        "MULTIVI registers no labels", f("x.cuvi"));
  fails("accessibility" + inputs() + " --threshold 2 --out " + f("x.h5ad"), "--threshold must be between 0 and 1",
        f("x.h5ad"));
  fails("train multivi --data " + f("sim.h5ad") + " --modality-penalty KL --out " + f("x.cuvi"),
        "--modality-penalty 'KL' is not one of", f("x.cuvi"));
}

}  // namespace
}  // namespace cuvi::test
