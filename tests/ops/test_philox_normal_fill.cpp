// The vectorised CPU normal fill (kernels/cpu/philox_normal_fill.h) against float(philox_normal) of
// kernels/common/philox.h, element by element over millions of draws and many (seed, step, stream):
// zero mismatches, every raw vector result that would round differently caught by the recheck, and
// the recheck rate.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "kernels/common/philox.h"
#include "kernels/cpu/philox_normal_fill.h"
#include "kernels/cpu/sampling.h"

namespace cuvi::cpu {
namespace {

struct Site {
  uint64_t seed;
  uint32_t step, stream;
};
const Site kSites[] = {{0, 0, 0},
                       {0x5eed5eedull, 5, 3},
                       {1, 1, 1},
                       {0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFu, 0xFFFFFFFFu},
                       {0x123456789ABCDEFull, 400, 17},
                       {42, 123457, 0x80000001u},
                       {0xDEADBEEF00000000ull, 7, 2},
                       {987654321, 31, 9}};

// Over 8 sites x 2^21 elements (16.8 M draws): the fill equals float(philox_normal) at every element.
TEST(PhiloxNormalFill, EqualsScalarPhiloxNormalEverywhere) {
  const int64_t n = int64_t(1) << 21;
  std::vector<float> got(n);
  int64_t mismatches = 0, first_bad = -1;
  for (const Site& s : kSites) {
    philox_normal_fill_f32(s.seed, s.step, s.stream, got.data(), n);
    for (int64_t e = 0; e < n; ++e) {
      const float want = static_cast<float>(philox_normal(s.seed, s.step, s.stream, uint64_t(e)));
      if (got[e] != want) {
        ++mismatches;
        if (first_bad < 0) first_bad = e;
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "first at element " << first_bad;
}

// The vector Box-Muller before the recheck: every raw float that differs from float(philox_normal) is
// flagged unsure (so the recheck makes the fill exact), and few are flagged (the recheck costs nothing).
TEST(PhiloxNormalFill, RecheckCatchesEveryRawDifference) {
  constexpr int K = kNormalChunkBlocks;
  int64_t pairs = 0, unsure_pairs = 0, raw_mismatch = 0, missed = 0;
  for (const Site& s : kSites) {
    for (uint64_t b0 = 0; b0 < (uint64_t(1) << 19); b0 += K) {
      uint32_t u1[2 * K], u2[2 * K];
      philox_blocks(s.seed, s.step, s.stream, b0, K, u1, u2, u1 + K, u2 + K);
      float c[2 * K], sn[2 * K];
      int32_t unsure[2 * K];
      box_muller_pairs(u1, u2, c, sn, unsure, 2 * K);
      for (int j = 0; j < 2 * K; ++j) {
        const uint64_t e = 4 * (b0 + uint64_t(j % K)) + (j < K ? 0u : 2u);
        const bool bad = c[j] != static_cast<float>(philox_normal(s.seed, s.step, s.stream, e)) ||
                         sn[j] != static_cast<float>(philox_normal(s.seed, s.step, s.stream, e + 1));
        ++pairs;
        unsure_pairs += unsure[j] != 0;
        raw_mismatch += bad;
        missed += bad && !unsure[j];
      }
    }
  }
  std::printf("normal fill: %lld pairs, %lld rechecked (%.2e), %lld raw differences before the recheck\n",
              static_cast<long long>(pairs), static_cast<long long>(unsure_pairs), double(unsure_pairs) / pairs,
              static_cast<long long>(raw_mismatch));
  EXPECT_EQ(missed, 0);
  EXPECT_LT(double(unsure_pairs) / pairs, 1e-4);
}

// Blocks that straddle a 2^32 block boundary (the high counter word changes), odd lengths and the
// partial last block, and randn_fill<float> (the op's CPU kernel) going through the fill.
TEST(PhiloxNormalFill, EdgesOfTheCounterAndTheLength) {
  const Site s = kSites[1];
  const int nb = kNormalChunkBlocks;
  std::vector<float> out(4 * nb);
  const uint64_t b0 = (uint64_t(1) << 32) - nb / 2;
  philox_normal_blocks_f32(s.seed, s.step, s.stream, b0, nb, out.data());
  for (int k = 0; k < 4 * nb; ++k)
    ASSERT_EQ(out[k], static_cast<float>(philox_normal(s.seed, s.step, s.stream, 4 * b0 + uint64_t(k)))) << k;
  for (int64_t n : {0, 1, 3, 4, 5, 1023, 1025, 4 * kNormalChunkBlocks + 3, 40001}) {
    std::vector<float> v(size_t(n) + 1, -7.f);
    randn_fill<float>(s.seed, s.step, s.stream, v.data(), n);
    for (int64_t e = 0; e < n; ++e)
      ASSERT_EQ(v[e], static_cast<float>(philox_normal(s.seed, s.step, s.stream, uint64_t(e)))) << n << " " << e;
    EXPECT_EQ(v[n], -7.f) << "wrote past the end, n " << n;
  }
}

}  // namespace
}  // namespace cuvi::cpu
