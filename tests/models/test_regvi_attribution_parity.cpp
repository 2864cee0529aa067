// Modality attribution against regularizedvi's get_modality_attribution ("h2b") on a trained
// RegularizedMultimodalVI (tests/fixtures/regvi_attribution, tools/fixtures/gen_regvi_attribution_fixture.py):
// one- and two-layer decoders, every covariate-removal option in the fixture; and the store layout.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "io/anndata.h"
#include "io/h5_util.h"
#include "tests/models/regvi_attribution_fixture.h"

namespace cuvi::test {
namespace {

void check_case(const std::string& group) {
  const std::string path = attribution_fixture_path();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture absent: " << path;
  const io::Node root = io::Node::root(io::H5File::open_read(path));
  const io::Node g = root.open(group);
  AttributionCase c;
  load_attribution_case(g, &c);
  auto be = make_cpu_backend(1, 2);
  int checked = 0;
  for (const std::string& option : g.open(c.names[0] + "/attr").members()) {
    const size_t colon = option.find(':');
    c.req.remove = workflow::parse_remove_covariates(option.substr(0, colon));
    c.req.reference = workflow::parse_covariate_reference(option.substr(colon + 1));
    const auto got = workflow::modality_attribution(*be, c.req, 17);  // chunks of 17 cells
    ASSERT_EQ(got.size(), c.names.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const HostArray ref = read_array(g.open(c.names[i] + "/attr/" + option));
      const int64_t N = ref.shape.d[0], K = ref.shape.d[1];
      ASSERT_EQ(int64_t(got[i].attribution.size()), N * K);
      // Both sides fp32: twice the rounding bound of one over the reduction length, relative to the cell's row.
      const double tol = 8.0 * double(decoder_reduction_length(c.req.modalities[i])) * std::numeric_limits<float>::epsilon();
      for (int64_t n = 0; n < N; ++n) {
        double scale = 0;
        for (int64_t k = 0; k < K; ++k) scale = std::max(scale, double(ref.v[size_t(n * K + k)]));
        ASSERT_GT(scale, 0.0);
        for (int64_t k = 0; k < K; ++k)
          ASSERT_NEAR(got[i].attribution[size_t(n * K + k)], ref.v[size_t(n * K + k)], tol * scale)
              << group << " " << c.names[i] << " " << option << " cell " << n << " latent " << k;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 12);  // 6 options x 2 modalities
}

TEST(RegviAttributionParity, OneLayerDecoders) { check_case("n_layers1"); }
TEST(RegviAttributionParity, TwoLayerDecoders) { check_case("n_layers2"); }

TEST(RegviAttributionParity, OptionsChangeTheResult) {
  const std::string path = attribution_fixture_path();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture absent: " << path;
  const io::Node g = io::Node::root(io::H5File::open_read(path)).open("n_layers1");
  AttributionCase c;
  load_attribution_case(g, &c);
  auto be = make_cpu_backend(1, 1);
  const auto keep = workflow::modality_attribution(*be, c.req);
  c.req.remove = workflow::RemoveCovariates::All;
  c.req.reference = workflow::CovariateReference::Zero;
  const auto removed = workflow::modality_attribution(*be, c.req);
  double diff = 0;
  for (size_t e = 0; e < keep[0].attribution.size(); ++e)
    diff = std::max(diff, double(std::abs(keep[0].attribution[e] - removed[0].attribution[e])));
  EXPECT_GT(diff, 1e-3);  // the transforms reach the decoder
}

TEST(RegviAttribution, StoreLayout) {
  const std::string path = attribution_fixture_path();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture absent: " << path;
  const io::Node g = io::Node::root(io::H5File::open_read(path)).open("n_layers1");
  AttributionCase c;
  load_attribution_case(g, &c);
  auto be = make_cpu_backend(1, 1);
  const auto attr = workflow::modality_attribution(*be, c.req);
  const int64_t N = c.req.n_cells, K = c.z.shape.d[1];
  std::vector<std::string> obs_names, var_names{"g0"};
  for (int64_t n = 0; n < N; ++n) obs_names.push_back("cell_" + std::to_string(n));
  const std::string out = (std::filesystem::temp_directory_path() / "cuvi_regvi_attr_store.h5ad").string();
  {
    io::H5adWriter w = io::H5adWriter::create(out, obs_names, var_names);
    workflow::store_attribution_results(w, attr, c.req.z, N, "_nocov");
    w.commit();
  }
  const io::AnnDataFile f = io::AnnDataFile::open(out);
  // names as regularizedvi writes them, model order (atac, rna)
  ASSERT_EQ(attr[0].name, "atac");
  int64_t d = 0;
  const std::vector<float> wz = f.read_obsm("X_latent_attr_rna_nocov", &d);
  ASSERT_EQ(d, K);
  for (int64_t e = 0; e < N * K; ++e) EXPECT_EQ(wz[size_t(e)], c.req.z[e] * attr[1].attribution[size_t(e)]);
  const io::Column* total = f.obs().find("atac_decoder_total_attr_nocov");
  const io::Column* own = f.obs().find("atac_decoder_own_attr_nocov");
  const io::Column* rtot = f.obs().find("rna_decoder_total_attr_nocov");
  const io::Column* ratio = f.obs().find("log2_atac_vs_rna_attr_nocov");
  ASSERT_TRUE(total && own && rtot && ratio);
  const int64_t Ka = attr[0].n_latent;  // atac's own slice comes first
  for (int64_t n = 0; n < N; ++n) {
    double t = 0, o = 0;
    for (int64_t k = 0; k < K; ++k) t += attr[0].attribution[size_t(n * K + k)];
    for (int64_t k = 0; k < Ka; ++k) o += attr[0].attribution[size_t(n * K + k)];
    EXPECT_NEAR(total->numeric[size_t(n)], t, 1e-9 * t);
    EXPECT_NEAR(own->numeric[size_t(n)], o, 1e-9 * t);
    EXPECT_NEAR(ratio->numeric[size_t(n)], std::log2(t / (rtot->numeric[size_t(n)] + 1e-10)), 1e-9);
  }
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace cuvi::test
