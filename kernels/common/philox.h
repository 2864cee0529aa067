// Philox 4x32-10 counter-based RNG (Salmon et al. 2011), the one source of randomness in cuvi.
// A draw is addressed by (seed, step, stream, element); CPU and CUDA produce the same bits.
// Layout matches cuRAND's philox4_32_10: key = seed, counter = (element/4, stream, step),
// so curand_init(seed, (uint64(step) << 32) | stream, element) yields the same 32-bit words.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace cuvi {

struct Philox4 {
  uint32_t v[4];
};

CUVI_HD uint32_t philox_mulhi(uint32_t a, uint32_t b) {
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

CUVI_HD Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    const uint32_t hi0 = philox_mulhi(M0, ctr.v[0]), lo0 = M0 * ctr.v[0];
    const uint32_t hi1 = philox_mulhi(M1, ctr.v[2]), lo1 = M1 * ctr.v[2];
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

// The four 32-bit words of block `block` (= element / 4) of stream (seed, step, stream).
CUVI_HD Philox4 philox_block(uint64_t seed, uint32_t step, uint32_t stream, uint64_t block) {
  Philox4 c{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), stream, step}};
  return philox4x32_10(c, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

CUVI_HD uint32_t philox_u32(uint64_t seed, uint32_t step, uint32_t stream, uint64_t element) {
  return philox_block(seed, step, stream, element >> 2).v[element & 3];
}

// Uniform in the open interval (0, 1), exact in double: (u + 0.5) / 2^32.
CUVI_HD double philox_uniform_of(uint32_t u) { return (static_cast<double>(u) + 0.5) * 2.3283064365386963e-10; }

CUVI_HD double philox_uniform(uint64_t seed, uint32_t step, uint32_t stream, uint64_t element) {
  return philox_uniform_of(philox_u32(seed, step, stream, element));
}

// Standard normal by Box-Muller on word pairs (0,1) and (2,3) of the element's block, in double.
CUVI_HD double philox_normal(uint64_t seed, uint32_t step, uint32_t stream, uint64_t element) {
  const Philox4 b = philox_block(seed, step, stream, element >> 2);
  const int lane = static_cast<int>(element & 3);
  const int pair = lane & 2;
  const double u1 = philox_uniform_of(b.v[pair]);
  const double u2 = philox_uniform_of(b.v[pair + 1]);
  const double r = sqrt(-2.0 * log(u1));
  const double a = 6.283185307179586 * u2;
  return (lane & 1) ? r * sin(a) : r * cos(a);
}

// Inverted-dropout keep decision: exact integer comparison, identical on both backends.
CUVI_HD bool philox_keep(uint64_t seed, uint32_t step, uint32_t stream, uint64_t element, double p_drop) {
  const double threshold = p_drop * 4294967296.0;
  return static_cast<double>(philox_u32(seed, step, stream, element)) >= threshold;
}

}  // namespace cuvi
