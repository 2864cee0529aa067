// Analyses of an scvi-tools MRVI exported to cuvi (spec/mrvi.md §5, §9): latents and local sample
// distances (mean representations; l2 and l1 as scvi-tools, linf from its representations, where its
// own linf path crashes), per cell and averaged per group, against scvi-tools on the same weights.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "tests/models/mrvi_analysis_fixture.h"
#include "tests/models/parity_compare.h"
#include "tests/models/scvi_test_util.h"
#include "tools/workflow/mrvi_abundance.h"
#include "tools/workflow/mrvi_distances.h"

namespace cuvi::test {
namespace {

// Latents: float32 forward passes on both sides (1e-4 relative, 1e-5 of the mean magnitude). Distances
// are differences of those latents: the same relative error on the representations, so 1e-4 of the
// mean distance bounds them too (plus 1e-4 relative).
constexpr double kRtol = 1e-4, kAtol = 1e-5;

TEST(MrviAnalysisParity, LatentsMatchScviTools) {
  AnalysisFixture f;
  EXPECT_TRUE(close_to(f.inf.session->latent(false, true, 0), f.array("latent/u"), "u", kRtol, kAtol));
  EXPECT_TRUE(close_to(f.inf.session->latent(true, true, 0), f.array("latent/z"), "z", kRtol, kAtol));
}

class MrviDistanceParity : public ::testing::TestWithParam<std::string> {};

TEST_P(MrviDistanceParity, PerCellAndGroupedDistancesMatchScviTools) {
  const std::string norm = GetParam();
  AnalysisFixture f;
  workflow::DistanceOptions opt;
  opt.norm = norm;
  opt.keep_cell = true;
  if (norm == "l2") opt.groupby = {"cell_type", "meta1"};
  opt.max_rows = 100;  // several qz passes per minibatch
  const std::string path = temp_path("dist_" + norm + ".nc");
  {
    io::NetcdfWriter w(path);
    workflow::local_sample_distances(*f.inf.session, f.inf.data, opt, w);
    w.commit();
  }
  const io::Node nc = io::Node::root(io::H5File::open_read(path));
  const HostArray cell = read_array(nc.open("cell"));
  const HostArray ref = f.array("distances/" + norm + "/cell");
  EXPECT_EQ(cell.shape, ref.shape);
  EXPECT_TRUE(close_to(cell.v, ref, norm + " cell", kRtol, 1e-4));
  for (const std::string& key : opt.groupby) {
    const HostArray g = read_array(nc.open(key));
    EXPECT_TRUE(close_to(g.v, f.array("distances/l2/" + key), key, kRtol, 1e-4));
    const io::Node names = nc.open(key + "_name");
    std::vector<std::string> got;
    std::vector<char*> ptrs(size_t(names.length()));
    io::H5Handle t(H5Tcopy(H5T_C_S1));
    H5Tset_size(t.get(), H5T_VARIABLE);
    H5Tset_cset(t.get(), H5T_CSET_UTF8);
    H5Dread(names.id(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data());
    for (char* p : ptrs) {
      got.emplace_back(p);
      free(p);
    }
    EXPECT_EQ(got, f.names("distances/l2", key)) << "group order is pandas' value_counts() order";
    // Grouped matrices are symmetric with a zero diagonal (spec §5).
    const int64_t S = g.shape[1];
    for (int64_t k = 0; k < g.shape[0]; ++k)
      for (int64_t i = 0; i < S; ++i) {
        EXPECT_EQ(g.v[size_t((k * S + i) * S + i)], 0.f);
        for (int64_t j = 0; j < S; ++j)
          EXPECT_EQ(g.v[size_t((k * S + i) * S + j)], g.v[size_t((k * S + j) * S + i)]);
      }
  }
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Norms, MrviDistanceParity, ::testing::Values("l2", "l1", "linf"));

}  // namespace
}  // namespace cuvi::test

namespace cuvi::test {
namespace {

std::vector<std::string> nc_strings(const io::Node& ds) {
  std::vector<char*> ptrs(size_t(ds.length()));
  io::H5Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  H5Dread(ds.id(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data());
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    free(p);
  }
  return out;
}

// Log densities: cuvi evaluates them in double, scvi-tools in float32 (terms of size ~1/sigma^2 ~ 100
// summed over 4 dimensions): 1e-4 relative plus 1e-4 of the mean magnitude.
TEST(MrviAnalysisParity, DifferentialAbundanceMatchesScviTools) {
  AnalysisFixture f;
  workflow::DaOptions opt;
  opt.sample_cov_keys = {"meta1"};
  opt.compute_log_enrichment = true;
  std::vector<std::string> warnings;
  const std::string path = temp_path("da.nc");
  {
    io::NetcdfWriter w(path);
    workflow::differential_abundance(*f.inf.session, f.inf.data, opt, w, &warnings);
    w.commit();
  }
  const io::Node nc = io::Node::root(io::H5File::open_read(path));
  EXPECT_EQ(nc_strings(nc.open("sample")), split_lines(f.ref.attr_string("samples").value()));
  EXPECT_EQ(nc_strings(nc.open("meta1")), f.names("da", "meta1"));
  EXPECT_TRUE(close_to(read_array(nc.open("log_probs")).v, f.array("da/log_probs"), "log_probs", 1e-4, 1e-4));
  EXPECT_TRUE(close_to(read_array(nc.open("meta1_log_probs")).v, f.array("da/meta1_log_probs"), "meta1_log_probs",
                       1e-4, 1e-4));
  EXPECT_TRUE(close_to(read_array(nc.open("meta1_log_enrichs")).v, f.array("da/meta1_log_enrichs"),
                       "meta1_log_enrichs", 1e-4, 1e-4));
  EXPECT_TRUE(warnings.empty());
  std::remove(path.c_str());
}

TEST(MrviAnalysisParity, OutlierCellSamplePairsMatchScviTools) {
  AnalysisFixture f;
  workflow::OutlierOptions opt;
  const workflow::OutlierResult r = workflow::outlier_cell_sample_pairs(*f.inf.session, f.inf.data, opt);
  EXPECT_TRUE(close_to(r.log_probs, f.array("outliers/log_probs"), "log_probs", 1e-4, 1e-4));
  EXPECT_TRUE(close_to(r.log_ratios, f.array("outliers/log_ratios"), "log_ratios", 1e-4, 1e-4));
  const HostArray adm = f.array("outliers/is_admissible");
  int64_t agree = 0, borderline = 0;
  for (size_t k = 0; k < r.admissible.size(); ++k) {
    if ((r.admissible[k] != 0) == (adm.v[k] != 0))
      ++agree;
    else if (std::fabs(r.log_ratios[k]) < 1e-3)
      ++borderline;  // a ratio within rounding of the threshold may flip
  }
  EXPECT_EQ(agree + borderline, int64_t(r.admissible.size()));
  int64_t n_adm = 0;
  for (uint8_t a : r.admissible) n_adm += a;
  EXPECT_GT(n_adm, 0);
  EXPECT_LT(n_adm, int64_t(r.admissible.size())) << "the fixture must have inadmissible pairs to be a test";
}

}  // namespace
}  // namespace cuvi::test

#include "tools/workflow/mrvi_de.h"

namespace cuvi::test {
namespace {

double rms_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s / double(std::max<size_t>(1, a.size())));
}

// DE statistics and LFCs are Monte Carlo averages over u draws (400 here): cuvi's draws are not torch's, so they
// are compared with the spread of scvi-tools itself: two scvi-tools runs with different seeds differ by
// d01 (RMS); cuvi's distance to each must be of the same size (within 2 d01; 1.0-1.5 d01 is expected).
TEST(MrviAnalysisParity, DifferentialExpressionStatisticsMatchScviToolsWithinItsSeedSpread) {
  AnalysisFixture f;
  workflow::MrviDeOptions opt;
  opt.sample_cov_keys = {"meta1", "meta2"};
  opt.mc_samples = 400;
  opt.store_lfc = true;
  opt.seed = 3;
  opt.max_rows = 8192;
  std::vector<std::string> warnings;
  const std::string path = temp_path("de.nc");
  {
    io::NetcdfWriter w(path);
    workflow::differential_expression(*f.inf.session, f.inf.data, opt, w, &warnings);
    w.commit();
  }
  const io::Node nc = io::Node::root(io::H5File::open_read(path));
  EXPECT_EQ(nc_strings(nc.open("covariate")), f.names("de", "covariate"));
  // lfc: cuvi decodes x1 and x0 from one shared u draw, torch from two; both estimate the same mean.
  for (const char* var : {"beta", "effect_size", "pvalue", "lfc"}) {
    const std::vector<float> got = read_array(nc.open(var)).v;
    const HostArray r0 = f.array(std::string("de/run0/") + var), r1 = f.array(std::string("de/run1/") + var);
    ASSERT_EQ(got.size(), r0.v.size()) << var;
    const double d01 = rms_diff(r0.v, r1.v), d0 = rms_diff(got, r0.v), d1 = rms_diff(got, r1.v);
    std::printf("%s: scvi-tools seeds differ by %.4g (RMS); cuvi differs by %.4g and %.4g\n", var, d01, d0, d1);
    EXPECT_LT(d0, 2 * d01) << var;
    EXPECT_LT(d1, 2 * d01) << var;
  }
  const HostArray p = read_array(nc.open("pvalue")), padj = read_array(nc.open("padj"));
  for (size_t i = 0; i < p.v.size(); ++i) EXPECT_GE(padj.v[i], p.v[i] - 1e-12);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cuvi::test
