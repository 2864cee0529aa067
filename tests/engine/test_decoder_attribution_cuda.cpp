// Decoder attribution (regularizedvi.md §9) on CUDA (label gpu): the same chunked driver as on the CPU, its
// kernels against the CPU reference kernels, one to three layers, covariates, feature scaling, chunking.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "engine/decoder_attribution.h"
#include "tests/engine/attribution_test_util.h"

namespace cuvi::test {
namespace {

void check_cuda_vs_cpu(const RandomDecoderSpec& s, uint32_t seed, int64_t chunk) {
  auto g = make_cuda_backend(1);
  auto c = make_cpu_backend(1, 2);
  const auto rf = make_random_decoder<float>(s, seed);
  const int64_t N = s.n_cells, K = s.n_latent;
  std::vector<float> got(size_t(N * K)), ref(size_t(N * K));
  decoder_attribution(*g, rf.view, rf.point, got.data(), chunk);
  decoder_attribution(*c, rf.view, rf.point, ref.data(), chunk);
  const double tol = 4.0 * double(attribution_reduction_length(s)) * std::numeric_limits<float>::epsilon();
  for (int64_t n = 0; n < N; ++n) {
    double scale = 0;
    for (int64_t k = 0; k < K; ++k) scale = std::max(scale, double(ref[size_t(n * K + k)]));
    for (int64_t k = 0; k < K; ++k)
      EXPECT_NEAR(got[size_t(n * K + k)], ref[size_t(n * K + k)], tol * scale) << "cell " << n << " latent " << k;
  }
}

TEST(DecoderAttributionCuda, MatchesCpu) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  RandomDecoderSpec s;
  s.n_cells = 37;
  s.n_latent = 6;
  s.n_features = 41;
  s.cov_cats = {3, 4};
  s.n_fs_rows = 3;
  s.n_cont = 2;
  check_cuda_vs_cpu(s, 11, 0);
  check_cuda_vs_cpu(s, 12, 5);  // chunks of 5 cells and a last one of 2
  s.hidden = {150, 33};          // more hidden units than a block's threads
  check_cuda_vs_cpu(s, 13, 0);
  s.hidden = {19, 9, 14};
  s.out_bias_shift = 25;
  check_cuda_vs_cpu(s, 14, 8);
}

}  // namespace
}  // namespace cuvi::test
