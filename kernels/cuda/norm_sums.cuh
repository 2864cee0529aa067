// Deterministic float block reductions shared by the norm kernels and the fused FC layer: a warp-shuffle row
// sum over a 1-D block and a fixed tree over the row groups of a (32 features x 16 row groups) block.
#pragma once

namespace cuvi::cuda {

constexpr int kColTile = 32;
constexpr int kColRows = 16;
constexpr int kMaxRowThreads = 512;

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
// Sum over a 1-D block whose size is a multiple of 32; every thread gets the same total. shm: 32 floats.
__device__ __forceinline__ float block_sum(float v, float* shm) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) shm[warp] = v;
  __syncthreads();
  v = lane < int(blockDim.x >> 5) ? shm[lane] : 0.f;
  v = warp_sum(v);
  __syncthreads();
  return v;
}
// Sum over threadIdx.y of a (kColTile, kColRows) block; every thread of column threadIdx.x gets it.
__device__ __forceinline__ float col_block_sum(float v, float (*shm)[kColTile + 1]) {
  shm[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  for (int st = kColRows / 2; st > 0; st >>= 1) {
    if (int(threadIdx.y) < st) shm[threadIdx.y][threadIdx.x] += shm[threadIdx.y + st][threadIdx.x];
    __syncthreads();
  }
  const float t = shm[0][threadIdx.x];
  __syncthreads();
  return t;
}

inline int row_threads(long long F) {
  const long long t = (F + 31) / 32 * 32;
  return int(t < 32 ? 32 : (t > kMaxRowThreads ? kMaxRowThreads : t));
}
inline unsigned row_blocks(long long N) { return N < (1ll << 20) ? unsigned(N) : (1u << 20); }
inline unsigned col_tiles(long long F) { return unsigned((F + kColTile - 1) / kColTile); }

}  // namespace cuvi::cuda
