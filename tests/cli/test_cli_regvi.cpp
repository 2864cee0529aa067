// cuvi train regularized-scvi / regularized-multimodal end to end on simulated data: the latent separates
// the simulated cell types (kNN accuracy far above a random embedding's), latent / normalize / de read
// the model file, and bad input (conflicting keys, a missing size-factor column, non-positive size
// factors, a model file of another kind) gives one error line, a non-zero exit and no output file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "io/anndata.h"
#include "tests/cli/cli_test_util.h"
#include "tests/test_env.h"
#include "tools/workflow/metrics.h"

namespace cuvi::test {
namespace {

class CliRegvi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = std::filesystem::temp_directory_path() / ("cuvi_cli_regvi_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const CliResult s = run_cuvi("simulate --out " + f("sim.h5ad") +
                                 " --n-cells 600 --n-genes 120 --n-cell-types 4 --n-batches 2 --seed 3 --quiet");
    ASSERT_EQ(s.status, 0) << s.output;
    const CliResult t = run_cuvi("train regularized-scvi --data " + f("sim.h5ad") +
                                 " --batch-key batch --n-hidden 32 --n-latent 6 --max-epochs 40 --n-epochs-kl-warmup 20"
                                 " --batch-size 64 --device cpu --threads 2 --out " + f("m.cuvi"));
    ASSERT_EQ(t.status, 0) << t.output;
    train_output = t.output;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir); }
  static std::string f(const std::string& name) { return (dir / name).string(); }
  static std::vector<int32_t> codes(const io::AnnDataFile& a, const std::string& col) {
    const io::Column& c = a.obs().require(col, "sim", "obs");
    return c.cat.codes;
  }
  static std::filesystem::path dir;
  static std::string train_output;
};
std::filesystem::path CliRegvi::dir;
std::string CliRegvi::train_output;

TEST_F(CliRegvi, LatentSeparatesSimulatedCellTypes) {
  EXPECT_NE(train_output.find("trained AmbientRegularizedSCVI: 40 epochs"), std::string::npos) << train_output;
  const CliResult l = run_cuvi("latent --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --out " +
                               f("lat.h5ad") + " --device cpu --quiet");
  ASSERT_EQ(l.status, 0) << l.output;
  const io::AnnDataFile lat = io::AnnDataFile::open(f("lat.h5ad"));
  int64_t d = 0;
  const std::vector<float> z = lat.read_obsm("X_scVI", &d);
  ASSERT_EQ(d, 6);
  const std::vector<int32_t> types = codes(lat, "cell_type");
  const double acc = workflow::knn_accuracy(z, 600, d, types, 15);
  // A random 6-d embedding scores about the largest type's share (~0.25-0.35) here.
  std::vector<float> noise(z.size());
  uint64_t s = 12345;
  for (float& v : noise) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v = float((s >> 11) * 0x1.0p-53);
  }
  const double acc_random = workflow::knn_accuracy(noise, 600, d, types, 15);
  EXPECT_GT(acc, 0.85) << "kNN accuracy of the cell types in the RegularizedVI latent";
  EXPECT_LT(acc_random, 0.5);
}

TEST_F(CliRegvi, NormalizeAndDeReadTheModel) {
  const CliResult n = run_cuvi("normalize --model " + f("m.cuvi") + " --data " + f("sim.h5ad") + " --out " +
                               f("norm.h5ad") + " --library-size 10 --genes gene_003 gene_010 --device cpu --quiet");
  ASSERT_EQ(n.status, 0) << n.output;
  const io::AnnDataFile norm = io::AnnDataFile::open(f("norm.h5ad"));
  EXPECT_EQ(norm.n_vars(), 2);
  const io::CsrMatrix m = norm.read_matrix("regularizedvi_normalized", io::ReadOptions{{}, {}, false});
  ASSERT_EQ(m.n_rows, 600);
  double total = 0;
  for (int64_t k = 0; k < m.nnz(); ++k) {
    EXPECT_GE(m.data[k], 0.f);  // softplus output times 10: non-negative, not a simplex
    total += m.data[k];
  }
  EXPECT_GT(total, 0.0);
  const CliResult de = run_cuvi("de --model " + f("m.cuvi") + " --data " + f("sim.h5ad") +
                                " --groupby cell_type --n-samples-overall 200 --device cpu --quiet --out " + f("de.csv"));
  ASSERT_EQ(de.status, 0) << de.output;
  EXPECT_TRUE(std::filesystem::exists(f("de.csv")));
}

// regularizedvi's test: the per-feature NLL sums to the reconstruction loss (same z and library draws).
TEST_F(CliRegvi, PerFeatureReconstructionLossSumsToTheReconstructionLoss) {
  const CliResult e = run_cuvi("evaluate --model " + f("m.cuvi") + " --data " + f("sim.h5ad") +
                               " --per-feature --out " + f("pf.csv") + " --device cpu --quiet");
  ASSERT_EQ(e.status, 0) << e.output;
  const std::vector<std::string> rec = lines_starting(e.output, "reconstruction_loss\t");
  ASSERT_EQ(rec.size(), 1u) << e.output;
  const double total = std::stod(rec[0].substr(rec[0].find('\t') + 1));
  const Csv t = read_csv(f("pf.csv"));
  ASSERT_EQ(t.rows.size(), 120u);
  double sum = 0;
  for (const auto& row : t.rows) {
    const double v = std::stod(row.at(t.col("nll")));
    EXPECT_GT(v, 0.0);
    sum += v;
  }
  EXPECT_NEAR(sum, total, 1e-3 * std::fabs(total) + 1e-3);
  // get_covariate_effects: decoder norms on stdout, per-gene table with the registry's category names.
  const CliResult c = run_cuvi("evaluate --model " + f("m.cuvi") + " --data " + f("sim.h5ad") +
                               " --covariate-effects --out " + f("eff.csv") + " --device cpu --quiet");
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_EQ(lines_starting(c.output, "decoder_weights\tcounts\tz_norm").size(), 1u) << c.output;
  const Csv eff = read_csv(f("eff.csv"));
  ASSERT_EQ(eff.rows.size(), 120u);
  const int theta = eff.col("theta:batch=batch_0"), bg = eff.col("background:batch=batch_1"),
            rho = eff.col("px_scale_mean");
  ASSERT_GE(theta, 0);
  ASSERT_GE(bg, 0);
  for (const auto& row : eff.rows) {
    EXPECT_GT(std::stod(row.at(theta)), 0.0);
    EXPECT_GT(std::stod(row.at(bg)), 0.0);
    EXPECT_GT(std::stod(row.at(rho)), 0.0);
  }
}

TEST_F(CliRegvi, NoBatchColumnTrainsWithOneGroupAndSaysSo) {
  const CliResult t = run_cuvi("train regularized-scvi --data " + f("sim.h5ad") +
                               " --n-hidden 8 --n-latent 3 --max-epochs 2 --device cpu --out " + f("one.cuvi"));
  ASSERT_EQ(t.status, 0) << t.output;
  EXPECT_NE(t.output.find("one group each"), std::string::npos) << t.output;
}

TEST_F(CliRegvi, MultimodalConcatenationOnSimulatedMultiome) {
  ASSERT_EQ(run_cuvi("simulate --multiome --atac-peaks 60 --out " + f("mm.h5ad") +
                     " --n-cells 300 --n-genes 50 --n-cell-types 3 --n-batches 2 --seed 4 --quiet").status, 0);
  const CliResult t = run_cuvi("train regularized-multimodal --data " + f("mm.h5ad") +
                               " --batch-key batch --n-hidden rna=24,atac=20 --n-latent rna=5,atac=4 --max-epochs 30"
                               " --n-epochs-kl-warmup 10 --device cpu --threads 2 --out " + f("mm.cuvi"));
  ASSERT_EQ(t.status, 0) << t.output;
  EXPECT_NE(t.output.find("atac: 60 features"), std::string::npos) << t.output;  // alphabetical model order
  ASSERT_EQ(run_cuvi("latent --model " + f("mm.cuvi") + " --data " + f("mm.h5ad") + " --out " + f("mlat.h5ad") +
                     " --device cpu --quiet").status, 0);
  const io::AnnDataFile lat = io::AnnDataFile::open(f("mlat.h5ad"));
  int64_t d = 0, d_rna = 0, d_atac = 0;
  const std::vector<float> z = lat.read_obsm("X_latent_joint", &d);
  const std::vector<float> z_rna = lat.read_obsm("X_latent_rna", &d_rna);
  lat.read_obsm("X_latent_atac", &d_atac);
  ASSERT_EQ(d, 9);
  EXPECT_EQ(d_rna, 5);
  EXPECT_EQ(d_atac, 4);
  for (int64_t r = 0; r < 300; ++r)  // z = [z_atac ; z_rna]
    for (int64_t k = 0; k < 5; ++k) ASSERT_EQ(z[r * 9 + 4 + k], z_rna[r * 5 + k]);
  EXPECT_GT(workflow::knn_accuracy(z, 300, d, codes(lat, "cell_type"), 15), 0.6);
  const CliResult n = run_cuvi("normalize --model " + f("mm.cuvi") + " --data " + f("mm.h5ad") + " --modality atac" +
                               " --out " + f("mnorm.h5ad") + " --device cpu --quiet");
  ASSERT_EQ(n.status, 0) << n.output;
  EXPECT_EQ(io::AnnDataFile::open(f("mnorm.h5ad")).n_vars(), 60);
  const CliResult de = run_cuvi("de --model " + f("mm.cuvi") + " --data " + f("mm.h5ad") +
                                " --groupby cell_type --device cpu --out " + f("mde.csv"));
  EXPECT_EQ(de.status, 1);
  EXPECT_NE(de.output.find("AmbientRegularizedSCVI"), std::string::npos) << de.output;
  EXPECT_FALSE(std::filesystem::exists(f("mde.csv")));
  // single_encoder with continuous covariates: regularizedvi's joint encoder breaks; refused in one line.
  const CliResult se = run_cuvi("train regularized-multimodal --data " + f("mm.h5ad") +
                                " --batch-key batch --continuous-covariate-keys age --latent-mode single_encoder"
                                " --device cpu --quiet --out " + f("se.cuvi"));
  EXPECT_EQ(se.status, 1);
  EXPECT_NE(se.output.find("single_encoder takes no continuous covariates"), std::string::npos) << se.output;
  EXPECT_FALSE(std::filesystem::exists(f("se.cuvi")));
}

// A real .h5mu (muon's tiny RNA + ATAC test file): the modalities read by name, latent slices written.
TEST_F(CliRegvi, MultimodalReadsAnH5mu) {
  CUVI_DATA_FILE_OR_SKIP(h5mu, "multiome-pbmc-muon-tiny/test_rna_atac.h5mu");
  const CliResult t = run_cuvi("train regularized-multimodal --data " + h5mu +
                               " --n-hidden 16 --n-latent 3 --max-epochs 1 --device cpu --out " + f("tiny.cuvi"));
  ASSERT_EQ(t.status, 0) << t.output;
  ASSERT_EQ(run_cuvi("latent --model " + f("tiny.cuvi") + " --data " + h5mu + " --out " + f("tiny_lat.h5ad") +
                     " --device cpu --quiet").status, 0);
  const io::AnnDataFile lat = io::AnnDataFile::open(f("tiny_lat.h5ad"));
  int64_t d = 0;
  const std::vector<float> z = lat.read_obsm("X_latent_joint", &d);
  EXPECT_EQ(d, 6);
  EXPECT_EQ(int64_t(z.size()), lat.n_obs() * 6);
  for (float v : z) ASSERT_TRUE(std::isfinite(v));
}

TEST_F(CliRegvi, BadInputIsOneLineAndNonZero) {
  const CliResult a = run_cuvi("train regularized-scvi --data " + f("sim.h5ad") +
                               " --batch-key batch --dispersion-key batch --out " + f("x.cuvi"));
  EXPECT_EQ(a.status, 1);
  EXPECT_NE(a.output.find("batch_key cannot be combined"), std::string::npos) << a.output;
  EXPECT_EQ(std::count(a.output.begin(), a.output.end(), '\n'), 1) << a.output;
  const CliResult b = run_cuvi("train regularized-scvi --data " + f("sim.h5ad") +
                               " --batch-key batch --size-factor-key no_such_column --max-epochs 1 --out " + f("x.cuvi"));
  EXPECT_EQ(b.status, 1);
  EXPECT_NE(b.output.find("no_such_column"), std::string::npos) << b.output;
  const CliResult c = run_cuvi("train regularized-scvi --data " + f("sim.h5ad") +
                               " --batch-key batch --size-factor-key true_library --max-epochs 1 --out " + f("x.cuvi"));
  // true_library is a positive numeric column: this one trains (library = log(size factor)).
  EXPECT_EQ(c.status, 0) << c.output;
  std::filesystem::remove(f("x.cuvi"));
  const CliResult d = run_cuvi("train regularized-scvi --data " + f("sim.h5ad") +
                               " --batch-key batch --dispersion gene-cell --out " + f("x.cuvi"));
  EXPECT_EQ(d.status, 1);
  EXPECT_NE(d.output.find("gene-cell"), std::string::npos) << d.output;
  EXPECT_FALSE(std::filesystem::exists(f("x.cuvi")));
  const CliResult e = run_cuvi("train regularized-multimodal --data " + f("sim.h5ad") +
                               " --n-hidden rna=8 --out " + f("x.cuvi"));
  EXPECT_EQ(e.status, 1);
  EXPECT_FALSE(std::filesystem::exists(f("x.cuvi")));
}

}  // namespace
}  // namespace cuvi::test
