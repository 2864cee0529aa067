// Every cuvi command end to end on a simulated file with known truth, each with an assertion on its
// output that a wrong result would fail: de finds the simulated markers, evaluate's bounds are ordered,
// sample draws counts like the data, metrics scores constructed embeddings exactly, loadings and
// covariates round-trip, and fractional counts warn (or fail under --strict-counts).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "io/anndata.h"
#include "io/h5ad_writer.h"
#include "tests/cli/cli_test_util.h"

namespace cuvi::test {
namespace {

class CliCommands : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = std::filesystem::temp_directory_path() / ("cuvi_cmds_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const CliResult s = run_cuvi("simulate --out " + f("sim.h5ad") +
                                 " --n-cells 1000 --n-genes 200 --n-cell-types 3 --n-batches 2 --seed 3 --quiet");
    ASSERT_EQ(s.status, 0) << s.output;
    const CliResult t = run_cuvi("train scvi --data " + f("sim.h5ad") +
                                 " --batch-key batch --n-hidden 32 --n-latent 6 --max-epochs 100 --n-epochs-kl-warmup 20"
                                 " --device cpu --seed 1 --out " + f("m.cuvi") + " --quiet");
    ASSERT_EQ(t.status, 0) << t.output;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir); }
  static std::string f(const std::string& name) { return (dir / name).string(); }
  static std::vector<std::string> var_column(const std::string& file, const std::string& name) {
    const io::AnnDataFile a = io::AnnDataFile::open(file);
    const io::Column& c = a.var().require(name, file, "var");
    std::vector<std::string> out;
    for (int64_t i = 0; i < a.n_vars(); ++i) out.push_back(c.text(i));
    return out;
  }
  static std::filesystem::path dir;
};
std::filesystem::path CliCommands::dir;

// Change-mode DE of each cell type against the rest: its top up-regulated genes are its simulated markers
// (8 per type here).
TEST_F(CliCommands, DeOneVsRestRanksTheSimulatedMarkersFirst) {
  const CliResult r = run_cuvi("de --model " + f("m.cuvi") + " --data " + f("sim.h5ad") +
                               " --groupby cell_type --mode change --device cpu --out " + f("de.csv") + " --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  const Csv csv = read_csv(f("de.csv"));
  for (const char* col : {"proba_de", "proba_not_de", "bayes_factor", "scale1", "scale2", "pseudocounts", "delta",
                          "lfc_mean", "lfc_median", "lfc_std", "lfc_min", "lfc_max", "raw_mean1", "raw_mean2",
                          "non_zeros_proportion1", "non_zeros_proportion2", "raw_normalized_mean1",
                          "raw_normalized_mean2", "is_de_fdr_0.05", "comparison", "group1", "group2"})
    ASSERT_GE(csv.column(col), 0) << "missing scvi-tools column " << col;
  ASSERT_EQ(csv.rows.size(), 3u * 200u);
  const std::vector<std::string> genes = io::AnnDataFile::open(f("sim.h5ad")).var().index;
  const std::vector<std::string> marker = var_column(f("sim.h5ad"), "marker_of");
  std::map<std::string, std::string> marker_of;
  for (size_t g = 0; g < genes.size(); ++g) marker_of[genes[g]] = marker[g];
  const int group1 = csv.column("group1"), lfc = csv.column("lfc_mean");
  std::map<std::string, int> seen, hits;
  for (const auto& row : csv.rows) {  // rows are sorted within each comparison, best first
    const std::string& grp = row[size_t(group1)];
    if (std::stod(row[size_t(lfc)]) <= 0 || seen[grp]++ >= 8) continue;
    if (marker_of[row[0]] == grp) ++hits[grp];
  }
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& [grp, n] : seen) EXPECT_GE(hits[grp], 6) << grp << ": markers among its top 8 up-regulated genes";
}

// ELBO <= -reconstruction loss (KL >= 0) and the importance-sampled marginal likelihood is above the ELBO.
TEST_F(CliCommands, EvaluateBoundsAreOrdered) {
  const CliResult r = run_cuvi("evaluate --model " + f("m.cuvi") + " --data " + f("sim.h5ad") +
                               " --n-mc-samples 50 --device cpu --per-cell --out " + f("eval.csv") + " --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  std::map<std::string, double> v;
  for (const char* key : {"elbo", "reconstruction_loss", "marginal_ll", "marginal_ll_cells"}) {
    const auto lines = lines_starting(r.output, std::string(key) + "\t");
    ASSERT_EQ(lines.size(), 1u) << key << " in:\n" << r.output;
    v[key] = std::stod(lines[0].substr(lines[0].find('\t') + 1));
  }
  EXPECT_LT(v["elbo"], 0);
  EXPECT_LT(v["elbo"], -v["reconstruction_loss"]);
  EXPECT_GT(v["marginal_ll_cells"], v["elbo"]);
  const Csv cells = read_csv(f("eval.csv"));
  ASSERT_EQ(cells.rows.size(), 1000u);
  double mean = 0;
  for (const auto& row : cells.rows) mean += std::stod(row[size_t(cells.column("elbo"))]) / 1000.0;
  EXPECT_NEAR(mean, v["elbo"], 1e-6 * std::abs(v["elbo"])) << "per-cell ELBOs average to the printed one";
}

// Posterior predictive draws are non-negative integers whose per-gene means follow the data's.
TEST_F(CliCommands, SampleDrawsCountsLikeTheData) {
  const CliResult r = run_cuvi("sample --model " + f("m.cuvi") + " --data " + f("sim.h5ad") +
                               " --n-samples 2 --device cpu --out " + f("pp.h5ad") + " --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  const io::AnnDataFile pp = io::AnnDataFile::open(f("pp.h5ad"));
  io::ReadOptions raw;
  raw.require_counts = false;
  const io::CsrMatrix x = pp.read_matrix("", raw);
  std::vector<double> data_mean(200, 0), draw_mean(200, 0);
  for (int64_t k = 0; k < x.nnz(); ++k) data_mean[size_t(x.indices[size_t(k)])] += x.data[size_t(k)] / 1000.0;
  for (const char* layer : {"scvi_posterior_sample_0", "scvi_posterior_sample_1"}) {
    const io::CsrMatrix s = pp.read_matrix(layer);  // validated as counts: integer, non-negative, finite
    ASSERT_EQ(s.n_rows, 1000);
    for (int64_t k = 0; k < s.nnz(); ++k) draw_mean[size_t(s.indices[size_t(k)])] += s.data[size_t(k)] / 2000.0;
  }
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (int g = 0; g < 200; ++g) {
    const double a = std::log1p(data_mean[size_t(g)]), b = std::log1p(draw_mean[size_t(g)]);
    sx += a, sy += b, sxx += a * a, syy += b * b, sxy += a * b;
  }
  const double corr = (sxy - sx * sy / 200) / std::sqrt((sxx - sx * sx / 200) * (syy - sy * sy / 200));
  EXPECT_GT(corr, 0.95) << "log mean expression of draws vs data across genes";
}

// On embeddings built to have known scores: one-hot cell type (accuracy 1) and batch as a coordinate
// (batches apart, mixing 0), then both (cell type apart, batches interleaved: mixing close to 1).
TEST_F(CliCommands, MetricsScoreConstructedEmbeddingsExactly) {
  const io::AnnDataFile sim = io::AnnDataFile::open(f("sim.h5ad"));
  const io::Column& type = sim.obs().require("cell_type", f("sim.h5ad"), "obs");
  const io::Column& batch = sim.obs().require("batch", f("sim.h5ad"), "obs");
  const int64_t n = sim.n_obs();
  std::vector<float> by_type(size_t(n * 3), 0.f), by_batch(size_t(n * 2), 0.f);
  for (int64_t i = 0; i < n; ++i) {
    const int t = type.cat.codes[size_t(i)], b = batch.cat.codes[size_t(i)];
    by_type[size_t(i * 3 + t)] = 10.f + 1e-3f * float(i % 7);
    by_batch[size_t(i * 2)] = 10.f * float(b);
    by_batch[size_t(i * 2 + 1)] = 1e-3f * float(i % 5);
  }
  {
    io::H5adWriter w = io::H5adWriter::copy_of(f("sim.h5ad"), f("emb.h5ad"));
    w.add_obsm("X_type", by_type.data(), n, 3);
    w.add_obsm("X_batch", by_batch.data(), n, 2);
    w.commit();
  }
  const CliResult t = run_cuvi("metrics --data " + f("emb.h5ad") + " --obsm X_type --labels-key cell_type --batch-key batch");
  ASSERT_EQ(t.status, 0) << t.output;
  EXPECT_NE(t.output.find("knn_accuracy(cell_type, k=15): 1.0000"), std::string::npos) << t.output;
  const auto mix = lines_starting(t.output, "batch_mixing(batch, k=50): ");
  ASSERT_EQ(mix.size(), 1u) << t.output;
  EXPECT_GT(std::stod(mix[0].substr(mix[0].find(": ") + 2)), 0.8) << "batches interleave within each type";
  const CliResult b = run_cuvi("metrics --data " + f("emb.h5ad") + " --obsm X_batch --batch-key batch");
  ASSERT_EQ(b.status, 0) << b.output;
  EXPECT_NE(b.output.find("batch_mixing(batch, k=50): 0.0000"), std::string::npos) << b.output;
}

// LinearSCVI trains from the CLI and its loadings are one finite row per gene, one column per latent
// dimension, and point the same way for markers of the same cell type (a model that learned nothing fails).
TEST_F(CliCommands, LinearScviTrainsAndWritesLoadings) {
  const CliResult t = run_cuvi("train linear-scvi --data " + f("sim.h5ad") + " --batch-key batch --n-latent 4"
                               " --max-epochs 100 --n-epochs-kl-warmup 20 --device cpu --out " + f("l.cuvi"));
  ASSERT_EQ(t.status, 0) << t.output;
  EXPECT_NE(t.output.find("trained LinearSCVI: 100 epochs"), std::string::npos) << t.output;
  ASSERT_EQ(run_cuvi("loadings --model " + f("l.cuvi") + " --out " + f("load.csv")).status, 0);
  const Csv csv = read_csv(f("load.csv"));
  EXPECT_EQ(csv.header, (std::vector<std::string>{"gene", "Z_0", "Z_1", "Z_2", "Z_3"}));
  ASSERT_EQ(csv.rows.size(), 200u);
  const std::vector<std::string> genes = io::AnnDataFile::open(f("sim.h5ad")).var().index;
  std::vector<std::array<double, 4>> unit(200);
  for (size_t g = 0; g < 200; ++g) {
    EXPECT_EQ(csv.rows[g][0], genes[g]);
    double norm = 0;
    for (size_t k = 0; k < 4; ++k) {
      unit[g][k] = std::stod(csv.rows[g][k + 1]);
      ASSERT_TRUE(std::isfinite(unit[g][k]));
      norm += unit[g][k] * unit[g][k];
    }
    ASSERT_GT(norm, 0) << genes[g];
    for (double& v : unit[g]) v /= std::sqrt(norm);
  }
  // Mean cosine similarity of loading vectors: pairs of markers of one type vs pairs of different types.
  const std::vector<std::string> marker = var_column(f("sim.h5ad"), "marker_of");
  double same = 0, other = 0;
  int n_same = 0, n_other = 0;
  for (size_t i = 0; i < 200; ++i)
    for (size_t j = i + 1; j < 200; ++j) {
      if (marker[i].empty() || marker[j].empty()) continue;
      double c = 0;
      for (size_t k = 0; k < 4; ++k) c += unit[i][k] * unit[j][k];
      (marker[i] == marker[j] ? same : other) += c;
      (marker[i] == marker[j] ? n_same : n_other) += 1;
    }
  EXPECT_GT(same / n_same, other / n_other + 0.2) << "same-type markers " << same / n_same << ", other pairs "
                                                  << other / n_other;
}

// Categorical and continuous covariates given as flags reach the model, its registry and inference.
TEST_F(CliCommands, CovariatesThroughFlagsReachTheModel) {
  const CliResult t = run_cuvi("train scvi --data " + f("sim.h5ad") +
                               " --batch-key batch --categorical-covariate-keys donor sex --continuous-covariate-keys age"
                               " --n-hidden 16 --n-latent 4 --max-epochs 3 --device cpu --out " + f("cov.cuvi") + " --quiet");
  ASSERT_EQ(t.status, 0) << t.output;
  const CliResult i = run_cuvi("info " + f("cov.cuvi"));
  ASSERT_EQ(i.status, 0) << i.output;
  EXPECT_NE(i.output.find("covariates: 2 categorical [8,2], 1 continuous"), std::string::npos) << i.output;
  EXPECT_NE(i.output.find("categorical covariates: donor, sex"), std::string::npos) << i.output;
  EXPECT_NE(i.output.find("continuous covariates: age"), std::string::npos) << i.output;
  ASSERT_EQ(run_cuvi("latent --model " + f("cov.cuvi") + " --data " + f("sim.h5ad") + " --out " + f("cov_lat.h5ad") +
                     " --device cpu --quiet").status, 0);
  int64_t cols = 0;
  const auto z = io::AnnDataFile::open(f("cov_lat.h5ad")).read_obsm("X_scVI", &cols);
  EXPECT_EQ(cols, 4);
  EXPECT_TRUE(std::all_of(z.begin(), z.end(), [](float v) { return std::isfinite(v); }));
  // A file without the covariate column is refused, naming it.
  const CliResult bad = run_cuvi("train scvi --data " + f("sim.h5ad") + " --continuous-covariate-keys no_such_age"
                                 " --max-epochs 1 --device cpu --out " + f("bad.cuvi"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("no_such_age"), std::string::npos) << bad.output;
}

// Fractional counts train with one warning line (as scvi-tools does); --strict-counts refuses them.
TEST_F(CliCommands, FractionalCountsWarnAndStrictCountsRefuses) {
  io::AnnDataFile sim = io::AnnDataFile::open(f("sim.h5ad"));
  io::CsrMatrix x = sim.read_matrix("");
  int64_t changed = 0;
  for (size_t k = 0; k < x.data.size(); k += 3, ++changed) x.data[k] += 0.5f;
  {
    io::H5adWriter w = io::H5adWriter::create(f("frac.h5ad"), sim.obs(), sim.var());
    w.set_x(x);
    w.commit();
  }
  const CliResult t = run_cuvi("train scvi --data " + f("frac.h5ad") + " --n-hidden 16 --n-latent 4 --max-epochs 2"
                               " --device cpu --out " + f("frac.cuvi") + " --quiet");
  ASSERT_EQ(t.status, 0) << t.output;
  const auto warnings = lines_starting(t.output, "warning: ");
  ASSERT_EQ(warnings.size(), 1u) << t.output;
  EXPECT_NE(warnings[0].find(std::to_string(changed) + " of " + std::to_string(x.nnz()) + " stored values are not integers"),
            std::string::npos) << warnings[0];
  EXPECT_TRUE(std::filesystem::exists(f("frac.cuvi")));
  const CliResult s = run_cuvi("train scvi --data " + f("frac.h5ad") + " --max-epochs 1 --strict-counts --device cpu --out " +
                               f("strict.cuvi"));
  EXPECT_EQ(s.status, 1);
  EXPECT_NE(s.output.find("non-integer count"), std::string::npos) << s.output;
  EXPECT_FALSE(std::filesystem::exists(f("strict.cuvi")));
  const CliResult l = run_cuvi("latent --model " + f("frac.cuvi") + " --data " + f("frac.h5ad") + " --strict-counts --out " +
                               f("strict.h5ad"));
  EXPECT_EQ(l.status, 1);
  EXPECT_FALSE(std::filesystem::exists(f("strict.h5ad")));
}

}  // namespace
}  // namespace cuvi::test
