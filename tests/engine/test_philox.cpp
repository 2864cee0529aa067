// Philox 4x32-10: known-answer vectors from the Random123 reference, stream addressing, and the
// distribution of the uniform/normal/keep transforms used by every random op.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "kernels/common/philox.h"

namespace cuvi {
namespace {

TEST(Philox, KnownAnswerVectors) {
  const Philox4 zero = philox4x32_10(Philox4{{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);
  const Philox4 ones = philox4x32_10(Philox4{{~0u, ~0u, ~0u, ~0u}}, ~0u, ~0u);
  EXPECT_EQ(ones.v[0], 0x408f276du);
  EXPECT_EQ(ones.v[1], 0x41c83b0eu);
  EXPECT_EQ(ones.v[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.v[3], 0x6d5451fdu);
  const Philox4 pi = philox4x32_10(Philox4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u,
                                   0x299f31d0u);
  EXPECT_EQ(pi.v[0], 0xd16cfe09u);
  EXPECT_EQ(pi.v[1], 0x94fdccebu);
  EXPECT_EQ(pi.v[2], 0x5001e420u);
  EXPECT_EQ(pi.v[3], 0x24126ea1u);
}

TEST(Philox, ElementsAddressTheirBlockAndLane) {
  const uint64_t seed = 0x1234567890abcdefull;
  const Philox4 b = philox4x32_10(Philox4{{5, 0, 3, 9}}, uint32_t(seed), uint32_t(seed >> 32));
  for (int lane = 0; lane < 4; ++lane) EXPECT_EQ(philox_u32(seed, 9, 3, 5 * 4 + lane), b.v[lane]);
  // Different steps, streams and seeds give different words.
  std::set<uint32_t> seen;
  for (uint32_t step = 0; step < 4; ++step)
    for (uint32_t stream = 0; stream < 4; ++stream)
      for (uint64_t s = 0; s < 4; ++s) seen.insert(philox_u32(s, step, stream, 0));
  EXPECT_EQ(seen.size(), 64u);
}

TEST(Philox, UniformIsOpenIntervalAndNormalHasUnitMoments) {
  EXPECT_GT(philox_uniform_of(0u), 0.0);
  EXPECT_LT(philox_uniform_of(0xffffffffu), 1.0);
  const int n = 200000;
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0, u1 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = philox_normal(7, 1, 2, i);
    s1 += z;
    s2 += z * z;
    s3 += z * z * z;
    s4 += z * z * z * z;
    u1 += philox_uniform(7, 1, 3, i);
  }
  EXPECT_NEAR(s1 / n, 0.0, 4.0 / std::sqrt(n));
  EXPECT_NEAR(s2 / n, 1.0, 4.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s3 / n, 0.0, 4.0 * std::sqrt(15.0 / n));
  EXPECT_NEAR(s4 / n, 3.0, 4.0 * std::sqrt(96.0 / n));
  EXPECT_NEAR(u1 / n, 0.5, 4.0 * std::sqrt(1.0 / 12 / n));
}

TEST(Philox, KeepDecisionMatchesDropProbability) {
  const int n = 100000;
  for (double p : {0.0, 0.1, 0.5}) {
    int kept = 0;
    for (int i = 0; i < n; ++i) kept += philox_keep(3, 4, 5, i, p);
    EXPECT_NEAR(double(kept) / n, 1.0 - p, 4.0 * std::sqrt(p * (1 - p) / n) + 1e-12) << "p = " << p;
  }
}

}  // namespace
}  // namespace cuvi
