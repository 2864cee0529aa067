// Emulator stand-in for <curand_kernel.h> (tools/cuda_emu): the Philox4_32_10 device generator as the
// cuRAND documentation defines it (key = seed, subsequence = upper 64 counter bits, offset = word index).
#pragma once
#include <cstdint>

#include "../emu_cuda.h"

struct curandStatePhilox4_32_10 {
  uint4 ctr;           // 128-bit counter: x, y low 64 bits (block index), z, w subsequence
  uint4 output;        // the four words of the current block
  uint2 key;           // seed
  unsigned int STATE;  // next word of `output` to return
};
typedef curandStatePhilox4_32_10 curandStatePhilox4_32_10_t;

namespace emu_curand {

// One Philox-4x32 round (Salmon et al., SC'11): two 32x32->64 multiplications, then the S-box mix.
inline uint4 philox_round(uint4 c, uint2 k) {
  const uint64_t p0 = uint64_t(0xD2511F53u) * c.x, p1 = uint64_t(0xCD9E8D57u) * c.z;
  return uint4{unsigned(p1 >> 32) ^ c.y ^ k.x, unsigned(p1), unsigned(p0 >> 32) ^ c.w ^ k.y, unsigned(p0)};
}
inline uint4 philox10(uint4 c, uint2 k) {
  for (int r = 0; r < 10; ++r) {
    c = philox_round(c, k);
    k.x += 0x9E3779B9u;  // Weyl key schedule
    k.y += 0xBB67AE85u;
  }
  return c;
}
// Adds n to the low 64 bits of the counter, carrying into the high 64.
inline void add_lo(uint4& c, uint64_t n) {
  const uint64_t lo = (uint64_t(c.y) << 32 | c.x), sum = lo + n;
  c.x = unsigned(sum);
  c.y = unsigned(sum >> 32);
  if (sum < lo && ++c.z == 0) ++c.w;
}
// Adds n to the high 64 bits of the counter.
inline void add_hi(uint4& c, uint64_t n) {
  const uint64_t hi = (uint64_t(c.w) << 32 | c.z) + n;
  c.z = unsigned(hi);
  c.w = unsigned(hi >> 32);
}

}  // namespace emu_curand

inline void curand_init(unsigned long long seed, unsigned long long subsequence, unsigned long long offset,
                        curandStatePhilox4_32_10_t* state) {
  state->ctr = uint4{0, 0, 0, 0};
  state->key = uint2{unsigned(seed), unsigned(seed >> 32)};
  emu_curand::add_hi(state->ctr, subsequence);
  emu_curand::add_lo(state->ctr, offset / 4);
  state->STATE = unsigned(offset % 4);
  state->output = emu_curand::philox10(state->ctr, state->key);
}

inline unsigned int curand(curandStatePhilox4_32_10_t* state) {
  const unsigned int w[4] = {state->output.x, state->output.y, state->output.z, state->output.w};
  const unsigned int r = w[state->STATE++];
  if (state->STATE == 4) {
    emu_curand::add_lo(state->ctr, 1);
    state->output = emu_curand::philox10(state->ctr, state->key);
    state->STATE = 0;
  }
  return r;
}

inline uint4 curand4(curandStatePhilox4_32_10_t* state) {
  const unsigned a = curand(state), b = curand(state), c = curand(state), d = curand(state);
  return uint4{a, b, c, d};
}

inline void skipahead(unsigned long long n, curandStatePhilox4_32_10_t* state) {
  const unsigned long long pos = state->STATE + n;
  emu_curand::add_lo(state->ctr, pos / 4);
  state->STATE = unsigned(pos % 4);
  state->output = emu_curand::philox10(state->ctr, state->key);
}
inline void skipahead_sequence(unsigned long long n, curandStatePhilox4_32_10_t* state) {
  emu_curand::add_hi(state->ctr, n);
  state->output = emu_curand::philox10(state->ctr, state->key);
}
