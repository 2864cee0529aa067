// cuvi neighbourhood-correlation end to end: the k-NN graph built from obsm['X_emb'] (as scanpy's neighbors) and
// the per-cell table and summary against regularizedvi.plt on the fixture; bad input gives one error line.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/cli/cli_test_util.h"
#include "tests/workflow/neighbourhood_fixture.h"

namespace cuvi::test {
namespace {

TEST(CliNeighbourhoodCorrelation, MatchesRegularizedvi) {
  const std::string data = neighbourhood_fixture("data.h5ad");
  if (!std::filesystem::exists(data)) GTEST_SKIP() << "fixture absent: " << data;
  const auto dir = std::filesystem::temp_directory_path() / "cuvi_cli_nc";
  std::filesystem::create_directories(dir);
  const std::string cells = (dir / "cells.csv").string(), summary = (dir / "summary.csv").string();
  const CliResult r = run_cuvi("neighbourhood-correlation --data " + data + " --use-rep X_emb --n-neighbors 10" +
                               " --library-key library --dataset-key dataset --technical-covariate-keys kit embryo" +
                               " --markers " + neighbourhood_fixture("markers.txt") + " --out " + cells +
                               " --summary " + summary + " --device cpu --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  expect_tables_match(read_csv(cells), read_csv(neighbourhood_fixture("cells.csv")), correlation_tolerance(30));
  const Csv got = read_csv(summary), ref = read_csv(neighbourhood_fixture("summary.csv"));
  ASSERT_EQ(got.rows.size(), ref.rows.size());
  for (size_t i = 0; i < ref.rows.size(); ++i) {
    EXPECT_EQ(got.rows[i][0], ref.rows[i][0]);
    const double want = csv_number(ref.rows[i][1]);
    EXPECT_NEAR(csv_number(got.rows[i][1]), want, correlation_tolerance(30) * std::max(1.0, std::abs(want))) << ref.rows[i][0];
  }
  std::filesystem::remove_all(dir);
}

TEST(CliNeighbourhoodCorrelation, BadInputIsOneLine) {
  const std::string data = neighbourhood_fixture("data.h5ad");
  if (!std::filesystem::exists(data)) GTEST_SKIP() << "fixture absent: " << data;
  const std::string out = (std::filesystem::temp_directory_path() / "cuvi_cli_nc_bad.csv").string();
  // kit values span both datasets: not a library of one dataset
  CliResult r = run_cuvi("neighbourhood-correlation --data " + data + " --use-rep X_emb --library-key kit" +
                         " --dataset-key dataset --out " + out + " --device cpu --quiet");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("covariate hierarchy violation"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  r = run_cuvi("neighbourhood-correlation --data " + data + " --use-rep X_missing --library-key library --out " + out +
               " --device cpu --quiet");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("X_missing"), std::string::npos) << r.output;
  r = run_cuvi("neighbourhood-correlation --data " + data + " --use-rep X_emb --library-key no_such_column --out " +
               out + " --device cpu --quiet");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("no_such_column"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace cuvi::test
