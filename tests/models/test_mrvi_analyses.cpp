// MRVI analyses beyond scvi-tools' reach (spec/mrvi.md §9): fewer cells than the batch size, sampled and
// normalised distances with 500 samples, LFCs with batch offsets and inadmissible samples filtered, and
// normalized expression with transform_batch; each checked for what it must compute.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/models/mrvi_analysis_fixture.h"
#include "tests/models/mrvi_test_util.h"
#include "tools/workflow/mrvi_abundance.h"
#include "tools/workflow/mrvi_de.h"
#include "tools/workflow/mrvi_counterfactual.h"
#include "tools/workflow/mrvi_distances.h"

namespace cuvi::test {
namespace {

// scvi-tools splits the cells into N // batch_size chunks, 0 when N < batch_size, and crashes (§5).
TEST(MrviAnalyses, OutliersWithFewerCellsThanTheBatchSize) {
  AnalysisFixture small(64), large(512);  // 240 cells
  ASSERT_LT(large.inf.data.data.counts.n_rows, 512);
  workflow::OutlierOptions opt;
  const workflow::OutlierResult a = workflow::outlier_cell_sample_pairs(*small.inf.session, small.inf.data, opt);
  const workflow::OutlierResult b = workflow::outlier_cell_sample_pairs(*large.inf.session, large.inf.data, opt);
  ASSERT_EQ(a.log_probs.size(), b.log_probs.size());
  for (size_t k = 0; k < a.log_probs.size(); ++k) EXPECT_NEAR(a.log_probs[k], b.log_probs[k], 1e-3) << k;
}

TEST(MrviAnalyses, LfcWithBatchOffsetsAndFilteredSamplesRecoversTheSimulatedEffect) {
  AnalysisFixture f(512);
  workflow::MrviDeOptions opt;
  opt.sample_cov_keys = {"meta1", "meta2"};
  opt.store_lfc = true;
  opt.add_batch_specific_offsets = true;  // scvi-tools' torch LFC path crashes with active offsets (§9.10)
  opt.filter_inadmissible_samples = true;
  opt.lambd = 0.1;
  opt.mc_samples = 8;
  std::vector<std::string> warnings;
  const std::string path = temp_path("de_lfc.nc");
  {
    io::NetcdfWriter w(path);
    workflow::differential_expression(*f.inf.session, f.inf.data, opt, w, &warnings);
    w.commit();
  }
  EXPECT_TRUE(warnings.empty()) << warnings[0];
  const io::Node nc = io::Node::root(io::H5File::open_read(path));
  const HostArray lfc = read_array(nc.open("lfc")), sd = read_array(nc.open("lfc_std")), pde = read_array(nc.open("pde"));
  const int64_t N = 240, G = 40;
  ASSERT_EQ(lfc.shape, (Shape{N, 2, G})) << "covariate_sub: meta1_yes, meta2 (no offsets)";
  EXPECT_EQ(nc.open("covariate").length(), 4) << "offset_batch_0, offset_batch_1, meta1_yes, meta2";
  for (size_t i = 0; i < lfc.v.size(); ++i) {
    ASSERT_TRUE(std::isfinite(lfc.v[i]) && sd.v[i] >= 0 && pde.v[i] >= 0 && pde.v[i] <= 1) << i;
  }
  const HostArray n_samples = read_array(nc.open("n_samples"));
  double min_n = 1e9, max_n = 0;
  for (float v : n_samples.v) {
    min_n = std::min<double>(min_n, v);
    max_n = std::max<double>(max_n, v);
  }
  EXPECT_LE(max_n, 6);
  EXPECT_LT(min_n, 6) << "filtering must drop samples for some cells";
  // The cohort: meta1 "yes" raises genes 0-4 threefold in type_0 cells. The fixture's small model
  // (240 cells, 40 epochs) captures a weak effect, scvi-tools' LFCs included (about 0.06 vs -0.03);
  // its sign must be right. Magnitudes are checked against scvi-tools in test_mrvi_analysis_parity.
  const io::Column& type = f.inf.data.data.obs.require("cell_type", "data", "obs");
  double hit = 0, rest = 0;
  int64_t nh = 0, nr = 0;
  for (int64_t n = 0; n < N; ++n) {
    if (type.text(n) != "type_0") continue;
    for (int64_t g = 0; g < G; ++g) {
      const double v = lfc.v[size_t((n * 2 + 0) * G + g)];
      (g < 5 ? hit : rest) += v;
      (g < 5 ? nh : nr) += 1;
    }
  }
  std::printf("type_0 cells, meta1_yes: mean LFC genes 0-4 %.3f, other genes %.3f\n", hit / nh, rest / nr);
  EXPECT_GT(hit / nh, rest / nr);
  std::remove(path.c_str());
}

// With 500 samples scvi-tools turns vmap off and its sampled path crashes (§9.6); cuvi has one path.
TEST(MrviAnalyses, SampledAndNormalizedDistancesWithFiveHundredSamples) {
  const std::string path = temp_path("s500.h5ad");
  workflow::SimulationConfig c;
  c.n_cells = 1000;
  c.n_genes = 20;
  c.n_cell_types = 2;
  c.n_batches = 2;
  c.n_donors = 500;
  workflow::write_simulation(workflow::simulate(c), c, path);
  workflow::SetupKeys k;
  k.sample_key = "donor";
  workflow::PreparedData data = workflow::prepare_data(path, k);
  ASSERT_GE(data.registry.sample_categories.size(), 500u);
  auto backend = make_cpu_backend(0);
  models::MrviConfig cfg;
  cfg.n_latent = 4;
  cfg.n_latent_u = 3;
  cfg.encoder_n_hidden = 8;
  cfg.qz.n_latent_sample = 4;
  cfg.qz.n_hidden = 8;
  auto model = workflow::new_mrvi_model(data, cfg, *backend, 1);  // untrained: the shapes are the point
  const int64_t S = model->config().n_sample;
  workflow::MrviSession session(*backend, *model, data, 128, {}, workflow::counterfactual_pass_bytes(model->config(), 8192));
  for (bool normalize : {false, true}) {
    workflow::DistanceOptions opt;
    opt.use_mean = false;
    opt.normalize = normalize;
    opt.mc_samples = 2;
    opt.keep_cell = false;
    opt.groupby = {"cell_type"};
    opt.max_rows = 8192;
    const std::string nc_path = temp_path("s500.nc");
    io::NetcdfWriter w(nc_path);
    const auto groups = workflow::local_sample_distances(session, data, opt, w);
    w.commit();
    ASSERT_EQ(groups.size(), 1u);
    const int64_t per = (normalize ? 1 : 2) * S * S;
    ASSERT_EQ(int64_t(groups[0].values.size()), 2 * per);
    for (int64_t gi = 0; gi < 2; ++gi)
      for (int64_t m = 0; m < per / (S * S); ++m)
        for (int64_t i = 0; i < S; i += 37)
          for (int64_t j = 0; j < S; j += 41) {
            const float a = groups[0].values[size_t(gi * per + m * S * S + i * S + j)];
            const float b = groups[0].values[size_t(gi * per + m * S * S + j * S + i)];
            ASSERT_TRUE(std::isfinite(a));
            ASSERT_EQ(a, b);
            if (i == j && !normalize) {
              ASSERT_EQ(a, 0.f);
            }
            if (i == j && normalize) {
              ASSERT_LT(a, 0.f) << "the normalised diagonal is -mu/sigma";
            }
          }
    std::remove(nc_path.c_str());
  }
  std::remove(path.c_str());
}

TEST(MrviAnalyses, NormalizedExpressionAveragesTransformBatches) {
  AnalysisFixture f;
  workflow::NormalizeOptions opt;
  opt.library_size = 1.0;
  auto run = [&](std::vector<int64_t> batches) {
    opt.transform_batches = batches;
    return f.inf.session->normalized_expression(opt, 5);
  };
  const auto b0 = run({0}), b1 = run({1}), both = run({0, 1});
  const int64_t G = 40;
  double diff = 0;
  for (size_t i = 0; i < both.size(); ++i) {
    EXPECT_NEAR(both[i], 0.5f * (b0[i] + b1[i]), 1e-6f) << i;
    diff += std::fabs(b0[i] - b1[i]);
  }
  EXPECT_GT(diff, 1e-3) << "the decoder must see the batch";
  for (int64_t n = 0; n < 3; ++n) {
    double s = 0;
    for (int64_t g = 0; g < G; ++g) s += b0[size_t(n * G + g)];
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
}

}  // namespace
}  // namespace cuvi::test
