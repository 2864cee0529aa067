// Vectorised CPU fill of Philox normals as float: the same values as float(philox_normal(...)) of
// kernels/common/philox.h (DESIGN decision 6), a Philox block per lane and Box-Muller on vmath.h.
// Values whose float rounding the vector math cannot settle are recomputed by philox_normal itself.
#pragma once
#include <cstdint>

#include "kernels/common/philox.h"
#include "kernels/cpu/vmath.h"

namespace cuvi::cpu {

// Philox blocks per chunk (4 normals each): the unit of work, sized for the stack.
constexpr int kNormalChunkBlocks = 256;

// Relative distance from the vector result to the nearest float rounding boundary below which the
// element is recomputed. vm_log and vm_sincos are within a few ulps (2^-51) of the correctly rounded
// values and glibc's log, sin and cos within one ulp, so the two doubles differ by far less than
// 2^-40 relative; about 2 in 10^5 elements land this close to a boundary.
constexpr double kNormalRecheckMargin = 0x1p-40;

// The four words of Philox blocks b0 .. b0 + nb - 1 (nb <= kNormalChunkBlocks), one block per lane: the shared
// philox_block, inlined, vectorises across lanes.
CUVI_VMATH void philox_blocks(uint64_t seed, uint32_t step, uint32_t stream, uint64_t b0, int nb,
                              uint32_t* w0, uint32_t* w1, uint32_t* w2, uint32_t* w3) {  // (nb) each
#pragma omp simd
  for (int i = 0; i < nb; ++i) {
    const Philox4 b = philox_block(seed, step, stream, b0 + static_cast<uint64_t>(i));
    w0[i] = b.v[0];
    w1[i] = b.v[1];
    w2[i] = b.v[2];
    w3[i] = b.v[3];
  }
}

// Box-Muller on word pairs (u1[j], u2[j]) as philox_normal computes it, in vector math: c = r cos a and
// s = r sin a with r = sqrt(-2 log u1), a = 2 pi u2, rounded to float. unsure[j] is set where c or s
// lies within kNormalRecheckMargin of a float rounding boundary, i.e. where philox_normal's double (glibc
// log, sin, cos) might round to another float; returns whether any is.
CUVI_VMATH int32_t box_muller_pairs(const uint32_t* w_u1, const uint32_t* w_u2,  // (n)
                                    float* c, float* s, int32_t* unsure,         // (n)
                                    int n) {
  int32_t any = 0;
#pragma omp simd reduction(| : any)
  for (int j = 0; j < n; ++j) {
    const double u1 = philox_uniform_of(w_u1[j]), u2 = philox_uniform_of(w_u2[j]);
    const double r = vm_sqrt(-2.0 * vm_log(u1));
    const VmSinCos sc = vm_sincos(6.283185307179586 * u2);
    const double dc = r * sc.cos, ds = r * sc.sin;
    const double mc = kNormalRecheckMargin * vm_abs(dc), ms = kNormalRecheckMargin * vm_abs(ds);
    const int32_t u = static_cast<int32_t>(static_cast<float>(dc - mc) != static_cast<float>(dc + mc)) |
                      static_cast<int32_t>(static_cast<float>(ds - ms) != static_cast<float>(ds + ms));
    c[j] = static_cast<float>(dc);
    s[j] = static_cast<float>(ds);
    unsure[j] = u;
    any |= u;
  }
  return any;
}

// out[4 i + l] = float(philox_normal(seed, step, stream, 4 (b0 + i) + l)) for i < nb, l < 4. Pair j < nb
// is words (0, 1) of block j, pair nb + j words (2, 3).
inline void philox_normal_blocks_f32(uint64_t seed, uint32_t step, uint32_t stream, uint64_t b0, int nb,
                                     float* out) {  // (4 nb)
  constexpr int K = kNormalChunkBlocks;
  uint32_t u1[2 * K], u2[2 * K];
  philox_blocks(seed, step, stream, b0, nb, u1, u2, u1 + nb, u2 + nb);
  float c[2 * K], s[2 * K];
  int32_t unsure[2 * K];
  const int32_t any = box_muller_pairs(u1, u2, c, s, unsure, 2 * nb);
  for (int i = 0; i < nb; ++i) {
    out[4 * i + 0] = c[i];
    out[4 * i + 1] = s[i];
    out[4 * i + 2] = c[nb + i];
    out[4 * i + 3] = s[nb + i];
  }
  if (!any) return;
  for (int j = 0; j < 2 * nb; ++j)
    if (unsure[j]) {
      const uint64_t e = 4 * (b0 + static_cast<uint64_t>(j % nb)) + (j < nb ? 0u : 2u);
      out[e - 4 * b0] = static_cast<float>(philox_normal(seed, step, stream, e));
      out[e - 4 * b0 + 1] = static_cast<float>(philox_normal(seed, step, stream, e + 1));
    }
}

// eps[e] = float(philox_normal(seed, step, stream, e)) for e in [0, n), chunks of whole blocks in
// parallel; a last partial block element by element.
inline void philox_normal_fill_f32(uint64_t seed, uint32_t step, uint32_t stream,
                                   float* eps,  // (n)
                                   int64_t n) {
  const int64_t blocks = n / 4, chunks = (blocks + kNormalChunkBlocks - 1) / kNormalChunkBlocks;
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b0 = c * kNormalChunkBlocks;
    const int nb = static_cast<int>(blocks - b0 < kNormalChunkBlocks ? blocks - b0 : kNormalChunkBlocks);
    philox_normal_blocks_f32(seed, step, stream, static_cast<uint64_t>(b0), nb, eps + 4 * b0);
  }
  for (int64_t e = 4 * blocks; e < n; ++e)
    eps[e] = static_cast<float>(philox_normal(seed, step, stream, static_cast<uint64_t>(e)));
}

}  // namespace cuvi::cpu
