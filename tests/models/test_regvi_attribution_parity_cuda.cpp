// Modality attribution on CUDA (label gpu) against regularizedvi's get_modality_attribution ("h2b") on the parity
// fixture (tests/fixtures/regvi_attribution): one- and two-layer decoders, every covariate-removal option.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <memory>

#include "tests/models/regvi_attribution_fixture.h"

namespace cuvi::test {
namespace {

void check_group_cuda(const std::string& group) {
  const std::string path = attribution_fixture_path();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture absent: " << path;
  const io::Node g = io::Node::root(io::H5File::open_read(path)).open(group);
  AttributionCase c;
  load_attribution_case(g, &c);
  auto be = make_cuda_backend(1);
  int checked = 0;
  for (const std::string& option : g.open(c.names[0] + "/attr").members()) {
    const size_t colon = option.find(':');
    c.req.remove = workflow::parse_remove_covariates(option.substr(0, colon));
    c.req.reference = workflow::parse_covariate_reference(option.substr(colon + 1));
    const auto got = workflow::modality_attribution(*be, c.req, 23);
    for (size_t i = 0; i < got.size(); ++i) {
      const HostArray ref = read_array(g.open(c.names[i] + "/attr/" + option));
      const int64_t N = ref.shape.d[0], K = ref.shape.d[1];
      const double tol =
          8.0 * double(decoder_reduction_length(c.req.modalities[i])) * std::numeric_limits<float>::epsilon();
      for (int64_t n = 0; n < N; ++n) {
        double scale = 0;
        for (int64_t k = 0; k < K; ++k) scale = std::max(scale, double(ref.v[size_t(n * K + k)]));
        for (int64_t k = 0; k < K; ++k)
          ASSERT_NEAR(got[i].attribution[size_t(n * K + k)], ref.v[size_t(n * K + k)], tol * scale)
              << group << " " << c.names[i] << " " << option << " cell " << n << " latent " << k;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 12);
}

TEST(RegviAttributionParityCuda, OneAndTwoLayerDecoders) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  check_group_cuda("n_layers1");
  check_group_cuda("n_layers2");
}

}  // namespace
}  // namespace cuvi::test
