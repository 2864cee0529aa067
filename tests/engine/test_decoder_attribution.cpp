// Decoder attribution (regularizedvi.md §9) on the CPU: the chunked forward-mode driver (fp32, closed form for
// one layer) against the per-column JVP reference (double, "h2b") against central finite differences of
// px_rate (double), for one to three layers, covariates, continuous inputs, feature scaling and chunking.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/decoder_attribution.h"
#include "kernels/cpu/attribution_jvp.h"
#include "tests/engine/attribution_test_util.h"

namespace cuvi::test {
namespace {

// (1/F) sum_f |central difference of rate_nf along z_k|, in double.
std::vector<double> finite_difference_attribution(const RandomDecoder<double>& r, double step) {
  const auto& s = r.spec;
  const int64_t K = s.n_latent, F = s.n_features;
  std::vector<double> A(size_t(s.n_cells * K)), zp(static_cast<size_t>(K)), up(static_cast<size_t>(F)), dn(static_cast<size_t>(F));
  for (int64_t n = 0; n < s.n_cells; ++n)
    for (int64_t k = 0; k < K; ++k) {
      std::copy(&r.z[size_t(n * K)], &r.z[size_t(n * K + K)], zp.begin());
      zp[size_t(k)] += step;
      cpu::decoder_rate(r.view, r.point, n, zp.data(), up.data());
      zp[size_t(k)] -= 2 * step;
      cpu::decoder_rate(r.view, r.point, n, zp.data(), dn.data());
      double acc = 0;
      for (int64_t f = 0; f < F; ++f) acc += std::abs(up[size_t(f)] - dn[size_t(f)]) / (2 * step);
      A[size_t(n * K + k)] = acc / double(F);
    }
  return A;
}

// Every value within rel * (largest value of its cell) of the reference.
template <class A, class B>
void expect_rows_close(const A& got, const B& ref, int64_t N, int64_t K, double rel, const char* what) {
  for (int64_t n = 0; n < N; ++n) {
    double scale = 0;
    for (int64_t k = 0; k < K; ++k) scale = std::max(scale, std::abs(double(ref[size_t(n * K + k)])));
    for (int64_t k = 0; k < K; ++k)
      EXPECT_NEAR(double(got[size_t(n * K + k)]), double(ref[size_t(n * K + k)]), rel * scale)
          << what << ": cell " << n << " latent " << k;
  }
}

void check_case(const RandomDecoderSpec& s, uint32_t seed, int64_t chunk = 0) {
  const auto rd = make_random_decoder<double>(s, seed);
  const auto rf = make_random_decoder<float>(s, seed);
  const int64_t N = s.n_cells, K = s.n_latent;
  std::vector<double> jvp(size_t(N * K));
  cpu::decoder_attribution_jvp(rd.view, rd.point, jvp.data());
  for (double v : jvp) ASSERT_TRUE(std::isfinite(v) && v >= 0);
  // Forward mode against finite differences, both in double: truncation O(step^2), rounding O(1e-16 / step).
  const auto fd = finite_difference_attribution(rd, 1e-6);
  expect_rows_close(fd, jvp, N, K, 1e-6, "finite differences vs JVP");
  // The fp32 driver against the double reference: fp32 rounding over the reduction length.
  auto be = make_cpu_backend(1, 2);
  std::vector<float> got(size_t(N * K), std::numeric_limits<float>::quiet_NaN());
  decoder_attribution(*be, rf.view, rf.point, got.data(), chunk);
  const double tol = 4.0 * double(attribution_reduction_length(s)) * std::numeric_limits<float>::epsilon();
  expect_rows_close(got, jvp, N, K, tol, "fp32 driver vs JVP");
}

TEST(DecoderAttribution, OneLayerClosedFormMatchesForwardModeAndFiniteDifferences) {
  RandomDecoderSpec s;
  s.cov_cats = {3, 4};
  check_case(s, 1);
  s.n_cont = 2;
  s.n_fs_rows = 3;
  check_case(s, 2);
}

TEST(DecoderAttribution, DeeperDecoders) {
  RandomDecoderSpec s;
  s.hidden = {17, 13};
  s.cov_cats = {2, 5};
  s.n_fs_rows = 1;
  check_case(s, 3);
  s.hidden = {21, 9, 14};
  s.n_cont = 1;
  check_case(s, 4);
  s.inject = false;  // covariates into the first layer only
  check_case(s, 5);
}

TEST(DecoderAttribution, SoftplusIdentityBranchAndNoCovariates) {
  RandomDecoderSpec s;
  s.out_bias_shift = 25;  // every head input above 20: softplus' slope is exactly 1
  check_case(s, 6);
  s.out_bias_shift = 0;
  s.hidden = {33, 8};
  check_case(s, 7);
}

TEST(DecoderAttribution, ChunksGiveTheSameResult) {
  RandomDecoderSpec s;
  s.n_cells = 29;
  s.hidden = {15, 11};
  s.cov_cats = {3};
  s.n_fs_rows = 2;
  const auto rf = make_random_decoder<float>(s, 8);
  auto be = make_cpu_backend(1, 2);
  std::vector<float> whole(size_t(s.n_cells * s.n_latent)), parts(whole.size());
  decoder_attribution(*be, rf.view, rf.point, whole.data(), 0);
  decoder_attribution(*be, rf.view, rf.point, parts.data(), 4);  // 7 full chunks and one of 1 cell
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_EQ(whole[i], parts[i]) << i;
  check_case(s, 8, 4);
}

TEST(DecoderAttribution, RejectsInconsistentShapes) {
  RandomDecoderSpec s;
  s.cov_cats = {3};
  auto rf = make_random_decoder<float>(s, 9);
  auto be = make_cpu_backend(1, 1);
  std::vector<float> out(size_t(s.n_cells * s.n_latent));
  rf.view.n_cov = 2;  // the layer still takes 3 covariate columns
  EXPECT_THROW(decoder_attribution(*be, rf.view, rf.point, out.data()), Error);
  rf.view.n_cov = 3;
  rf.z[4] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(decoder_attribution(*be, rf.view, rf.point, out.data()), Error);
}

}  // namespace
}  // namespace cuvi::test
