// CUDA pairwise-distance kernels: SGEMM tiles with a distance epilogue; a per-row top-k merge (one block
// per row: threshold filter into shared memory, bitonic sort of the candidates, rank-merge with the list);
// exact re-ranking; per-segment row sums as fixed-shape block reductions. Results never depend on scheduling.
#include <cmath>

#include "kernels/common/knn_list.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/pairwise.h"

namespace cuvi::cuda {
namespace {

constexpr int kSelThreads = 128;              // threads of a top-k block
constexpr int kSelItems = 2;                  // tile columns per thread per chunk
constexpr int kChunk = kSelThreads * kSelItems;  // candidates a chunk can add (the buffer never overflows)
constexpr int kSumThreads = 128;              // threads of a segment-sum block
constexpr unsigned kMaxRowBlocks = 65535u * 16u;

__device__ __forceinline__ float tile_distance(float t, float q_sq, float b_sq, TileDistance kind) {
  if (kind == TileDistance::Cosine) return fminf(2.f, fmaxf(0.f, 1.f - t));
  const float sq = fmaxf(0.f, __fsub_rn(__fadd_rn(q_sq, b_sq), __fmul_rn(2.f, t)));
  return kind == TileDistance::Euclidean ? sqrtf(sq) : sq;
}

__global__ void row_sq_norms_kernel(const float* __restrict__ x, int64_t n, int64_t d, float* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    double s = 0;
    for (int64_t t = 0; t < d; ++t) s = fma(double(x[i * d + t]), double(x[i * d + t]), s);
    out[i] = float(s);
  }
}

__global__ void normalize_rows_kernel(float* __restrict__ x, int64_t n, int64_t d) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    double s = 0;
    for (int64_t t = 0; t < d; ++t) s = fma(double(x[i * d + t]), double(x[i * d + t]), s);
    const double inv = s > 0 ? 1.0 / sqrt(s) : 0.0;
    for (int64_t t = 0; t < d; ++t) x[i * d + t] = float(double(x[i * d + t]) * inv);
  }
}

__global__ void distance_epilogue_kernel(float* __restrict__ tile, const float* __restrict__ q_sq,
                                         const float* __restrict__ b_sq, int64_t m, int64_t nb, TileDistance kind) {
  const int64_t total = m * nb;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e / nb, j = e - i * nb;
    const bool cos = kind == TileDistance::Cosine;
    tile[e] = tile_distance(tile[e], cos ? 0.f : q_sq[i], cos ? 0.f : b_sq[j], kind);
  }
}

__global__ void topk_init_kernel(float* __restrict__ d, int32_t* __restrict__ idx, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    d[e] = INFINITY;
    idx[e] = kEmptyNeighbor;
  }
}

// Sorts the first P (a power of two) entries of (cd, ci) in neighbor_before order. All threads call it.
__device__ void bitonic_sort(float* cd, int* ci, int P) {
  for (int size = 2; size <= P; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int t = threadIdx.x; t < (P >> 1); t += blockDim.x) {
        const int a = 2 * t - (t & (stride - 1)), b = a + stride;
        const bool ascending = (a & size) == 0;
        if (neighbor_before(cd[b], ci[b], cd[a], ci[a]) == ascending) {
          const float td = cd[a];
          const int ti = ci[a];
          cd[a] = cd[b];
          ci[a] = ci[b];
          cd[b] = td;
          ci[b] = ti;
        }
      }
      __syncthreads();
    }
  }
}

// Entries of the sorted (d, i)[0, n) that come before (qd, qi).
__device__ int count_before(const float* d, const int* i, int n, float qd, int qi) {
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = (lo + hi) >> 1;
    if (neighbor_before(d[mid], i[mid], qd, qi)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// One block per row (grid-stride over rows). The row's list lives in shared memory while the block scans
// the tile in chunks of kChunk columns; a column enters the candidate buffer when it beats the list's last
// entry; a chunk that produced candidates sorts them and rank-merges them into the list. Each (distance,
// index) pair is unique, so the result is the exact top k whatever order the atomics filled the buffer in.
__global__ void __launch_bounds__(kSelThreads)
    topk_merge_kernel(const float* __restrict__ tile, int64_t m, int64_t nb, int64_t col0,
                      const int64_t* __restrict__ self, int k, float* __restrict__ best_d,
                      int32_t* __restrict__ best_i) {
  __shared__ float ld[kKnnMaxK];  // the row's list
  __shared__ int li[kKnnMaxK];
  __shared__ float nd[kKnnMaxK];  // the merged list
  __shared__ int ni[kKnnMaxK];
  __shared__ float cd[kChunk];  // candidates of the chunk
  __shared__ int ci[kChunk];
  __shared__ int count;
  for (int64_t row = blockIdx.x; row < m; row += gridDim.x) {
    for (int t = threadIdx.x; t < k; t += blockDim.x) {
      ld[t] = best_d[row * k + t];
      li[t] = best_i[row * k + t];
    }
    const int64_t skip = self ? self[row] : -1;
    const float* trow = tile + row * nb;
    __syncthreads();
    for (int64_t c0 = 0; c0 < nb; c0 += kChunk) {
      const float wd = ld[k - 1];
      const int wi = li[k - 1];
      if (threadIdx.x == 0) count = 0;
      __syncthreads();
      for (int it = 0; it < kSelItems; ++it) {
        const int64_t j = c0 + int64_t(it) * kSelThreads + threadIdx.x;
        if (j >= nb) break;
        const float d = trow[j];
        const int g = int(col0 + j);
        if (g != skip && neighbor_before(d, g, wd, wi)) {
          const int p = atomicAdd(&count, 1);
          cd[p] = d;
          ci[p] = g;
        }
      }
      __syncthreads();
      const int cnt = count;
      __syncthreads();         // every thread has read count before thread 0 resets it
      if (cnt == 0) continue;  // uniform: every thread read the same count
      int P = 1;
      while (P < cnt) P <<= 1;
      for (int t = cnt + threadIdx.x; t < P; t += blockDim.x) {
        cd[t] = INFINITY;
        ci[t] = kEmptyNeighbor;
      }
      __syncthreads();
      bitonic_sort(cd, ci, P);
      for (int t = threadIdx.x; t < k; t += blockDim.x) {  // list entries keep their order among themselves
        const int r = t + count_before(cd, ci, cnt, ld[t], li[t]);
        if (r < k) {
          nd[r] = ld[t];
          ni[r] = li[t];
        }
      }
      for (int t = threadIdx.x; t < cnt; t += blockDim.x) {
        const int r = t + count_before(ld, li, k, cd[t], ci[t]);
        if (r < k) {
          nd[r] = cd[t];
          ni[r] = ci[t];
        }
      }
      __syncthreads();
      for (int t = threadIdx.x; t < k; t += blockDim.x) {
        ld[t] = nd[t];
        li[t] = ni[t];
      }
      __syncthreads();
    }
    for (int t = threadIdx.x; t < k; t += blockDim.x) {
      best_d[row * k + t] = ld[t];
      best_i[row * k + t] = li[t];
    }
    __syncthreads();  // the next row reloads the shared list
  }
}

__global__ void knn_refine_kernel(const float* __restrict__ q, const float* __restrict__ b, int64_t m, int64_t d,
                                  int k, float* __restrict__ best_d, int32_t* __restrict__ best_i) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < m; i += int64_t(gridDim.x) * blockDim.x) {
    float* ld = best_d + i * k;
    int32_t* li = best_i + i * k;
    for (int t = 0; t < k; ++t) ld[t] = exact_distance(q + i * d, b + int64_t(li[t]) * d, d);
    neighbor_sort(ld, li, k);
  }
}

// One block per row; for every segment overlapping the tile, strided double partial sums reduced in a fixed
// tree, added to sums(row, s) by thread 0.
__global__ void __launch_bounds__(kSumThreads)
    segment_sums_kernel(const float* __restrict__ tile, int64_t m, int64_t nb, int64_t col0,
                        const int64_t* __restrict__ seg, int64_t n_seg, double* __restrict__ sums) {
  __shared__ double part[kSumThreads];
  for (int64_t row = blockIdx.x; row < m; row += gridDim.x) {
    const float* trow = tile + row * nb;
    for (int64_t s = 0; s < n_seg; ++s) {
      const int64_t lo = seg[s] > col0 ? seg[s] : col0;
      const int64_t hi = seg[s + 1] < col0 + nb ? seg[s + 1] : col0 + nb;
      if (lo >= hi) continue;  // uniform
      double acc = 0;
      for (int64_t j = lo + threadIdx.x; j < hi; j += kSumThreads) acc += double(trow[j - col0]);
      part[threadIdx.x] = acc;
      __syncthreads();
      for (int w = kSumThreads / 2; w > 0; w >>= 1) {
        if (int(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
      }
      if (threadIdx.x == 0) sums[row * n_seg + s] += part[0];
      __syncthreads();
    }
  }
}

unsigned row_blocks(int64_t m) { return m < int64_t(kMaxRowBlocks) ? unsigned(m) : kMaxRowBlocks; }

}  // namespace

void row_sq_norms(cudaStream_t s, const float* x, int64_t n, int64_t d, float* out) {
  if (n <= 0) return;
  row_sq_norms_kernel<<<grid_for(n, 256), 256, 0, s>>>(x, n, d, out);
  check_launch("row_sq_norms");
}

void normalize_rows(cudaStream_t s, float* x, int64_t n, int64_t d) {
  if (n <= 0) return;
  normalize_rows_kernel<<<grid_for(n, 256), 256, 0, s>>>(x, n, d);
  check_launch("normalize_rows");
}

void distance_tile(cublasHandle_t h, cudaStream_t s, const float* q, const float* q_sq, const float* b,
                   const float* b_sq, int64_t m, int64_t nb, int64_t d, TileDistance kind, float* tile) {
  if (m <= 0 || nb <= 0) return;
  expect_stream(h, s);
  gemm_rm(h, false, true, m, nb, d, q, d, b, d, tile, nb, false);
  distance_epilogue_kernel<<<grid_for(m * nb, 256), 256, 0, s>>>(tile, q_sq, b_sq, m, nb, kind);
  check_launch("distance_epilogue");
}

void topk_init(cudaStream_t s, int64_t m, int64_t k, float* best_d, int32_t* best_i) {
  if (m * k <= 0) return;
  topk_init_kernel<<<grid_for(m * k, 256), 256, 0, s>>>(best_d, best_i, m * k);
  check_launch("topk_init");
}

void topk_merge_tile(cudaStream_t s, const float* tile, int64_t m, int64_t nb, int64_t col0, const int64_t* self,
                     int64_t k, float* best_d, int32_t* best_i) {
  if (m <= 0 || nb <= 0) return;
  if (k < 1 || k > kKnnMaxK) throw std::runtime_error("topk_merge_tile: k must be in [1, 128]");
  topk_merge_kernel<<<row_blocks(m), kSelThreads, 0, s>>>(tile, m, nb, col0, self, int(k), best_d, best_i);
  check_launch("topk_merge_tile");
}

void knn_refine(cudaStream_t s, const float* q, const float* b, int64_t m, int64_t d, int64_t k, float* best_d,
                int32_t* best_i) {
  if (m <= 0 || k <= 0) return;
  knn_refine_kernel<<<grid_for(m, 128), 128, 0, s>>>(q, b, m, d, int(k), best_d, best_i);
  check_launch("knn_refine");
}

void segment_sums_tile(cudaStream_t s, const float* tile, int64_t m, int64_t nb, int64_t col0, const int64_t* seg,
                       int64_t n_seg, double* sums) {
  if (m <= 0 || nb <= 0 || n_seg <= 0) return;
  segment_sums_kernel<<<row_blocks(m), kSumThreads, 0, s>>>(tile, m, nb, col0, seg, n_seg, sums);
  check_launch("segment_sums_tile");
}

}  // namespace cuvi::cuda
