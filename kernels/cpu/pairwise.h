// CPU reference of the pairwise-distance kernels behind the exact k-NN search and the per-label distance
// sums of the silhouette metrics (twin: kernels/cuda/pairwise.cu): distance tiles through cblas_sgemm,
// per-row top-k merge, exact re-ranking of the chosen neighbours, per-segment row sums.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/common/knn_list.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/reduce.h"

namespace cuvi::cpu {

// What a distance tile holds. Cosine expects rows normalised to unit length beforehand.
enum class TileDistance { SqEuclidean, Euclidean, Cosine };

inline void row_sq_norms(const float* x,  // (n, d)
                         int64_t n, int64_t d,
                         float* out) {  // (n)
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t t = 0; t < d; ++t) s = std::fma(double(x[i * d + t]), double(x[i * d + t]), s);
    out[i] = float(s);
  }
}

// x[i, :] /= |x[i, :]|; a row of norm 0 stays 0.
inline void normalize_rows(float* x,  // (n, d)
                           int64_t n, int64_t d) {
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t t = 0; t < d; ++t) s = std::fma(double(x[i * d + t]), double(x[i * d + t]), s);
    const double inv = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
    for (int64_t t = 0; t < d; ++t) x[i * d + t] = float(double(x[i * d + t]) * inv);
  }
}

// The distance from the inner product t = q.b and the squared norms (same expression on both backends).
inline float tile_distance(float t, float q_sq, float b_sq, TileDistance kind) {
  if (kind == TileDistance::Cosine) return std::min(2.f, std::max(0.f, 1.f - t));
  const float sq = std::max(0.f, (q_sq + b_sq) - 2.f * t);
  return kind == TileDistance::Euclidean ? std::sqrt(sq) : sq;
}

// tile(i, j) = distance(q_i, b_j). q_sq / b_sq: squared row norms (unused for Cosine).
inline void distance_tile(const float* q,     // (m, d)
                          const float* q_sq,  // (m)
                          const float* b,     // (nb, d)
                          const float* b_sq,  // (nb)
                          int64_t m, int64_t nb, int64_t d, TileDistance kind,
                          float* tile) {  // (m, nb)
  gemm<float>(false, true, m, nb, d, q, d, b, d, tile, nb, false);
  for (int64_t i = 0; i < m; ++i) {  // one loop per kind: each inlines branch-free and vectorises
    float* row = tile + i * nb;
    if (kind == TileDistance::Cosine) {
      for (int64_t j = 0; j < nb; ++j) row[j] = tile_distance(row[j], 0.f, 0.f, TileDistance::Cosine);
    } else if (kind == TileDistance::Euclidean) {
      for (int64_t j = 0; j < nb; ++j) row[j] = tile_distance(row[j], q_sq[i], b_sq[j], TileDistance::Euclidean);
    } else {
      for (int64_t j = 0; j < nb; ++j) row[j] = tile_distance(row[j], q_sq[i], b_sq[j], TileDistance::SqEuclidean);
    }
  }
}

constexpr int64_t kMergeBlock = 32;  // tile columns tested together before the per-column merge

// Empty lists: every slot (inf, kEmptyNeighbor).
inline void topk_init(int64_t m, int64_t k,
                      float* best_d,      // (m, k)
                      int32_t* best_i) {  // (m, k)
  std::fill(best_d, best_d + m * k, std::numeric_limits<float>::infinity());
  std::fill(best_i, best_i + m * k, kEmptyNeighbor);
}

// Merges row i of the tile (columns = base rows col0 .. col0 + nb - 1) into row i's list of the k nearest
// so far, kept ascending in neighbor_before order. self[i] >= 0 names a base row to skip (the query itself).
inline void topk_merge_tile(const float* tile,    // (m, nb)
                            int64_t m, int64_t nb, int64_t col0,
                            const int64_t* self,  // (m) or null
                            int64_t k,
                            float* best_d,      // (m, k)
                            int32_t* best_i) {  // (m, k)
  for (int64_t i = 0; i < m; ++i) {
    float* ld = best_d + i * k;
    int32_t* li = best_i + i * k;
    const float* row = tile + i * nb;
    const int64_t skip = self ? self[i] : -1;
    for (int64_t j0 = 0; j0 < nb; j0 += kMergeBlock) {
      // Most columns lose against the list's last entry: a vectorised test of the block first.
      const int64_t j1 = std::min(nb, j0 + kMergeBlock);
      const float worst = ld[k - 1];
      bool any = false;
      for (int64_t j = j0; j < j1; ++j) any |= row[j] <= worst;
      if (!any) continue;
      for (int64_t j = j0; j < j1; ++j) {
        const float d = row[j];
        const int32_t g = int32_t(col0 + j);
        if (neighbor_before(d, g, ld[k - 1], li[k - 1]) && g != skip) neighbor_insert(ld, li, k - 1, d, g);
      }
    }
  }
}

// Replaces each chosen neighbour's tile distance by its exact Euclidean distance and re-sorts each list in
// neighbor_before order (the tile distances only chose the set).
inline void knn_refine(const float* q,  // (m, d) queries
                       const float* b,  // (n, d) base rows
                       int64_t m, int64_t d, int64_t k,
                       float* best_d,      // (m, k)
                       int32_t* best_i) {  // (m, k)
  for (int64_t i = 0; i < m; ++i) {
    float* ld = best_d + i * k;
    int32_t* li = best_i + i * k;
    for (int64_t t = 0; t < k; ++t) ld[t] = exact_distance(q + i * d, b + int64_t(li[t]) * d, d);
    neighbor_sort(ld, li, k);
  }
}

// sums(i, s) += the tile's row i summed over its columns in segment s. Base rows are grouped so that
// segment s spans base rows [seg[s], seg[s + 1]); the tile covers base rows col0 .. col0 + nb - 1.
// Double accumulation (row_dot's eight fixed partial sums).
inline void segment_sums_tile(const float* tile,  // (m, nb)
                              int64_t m, int64_t nb, int64_t col0,
                              const int64_t* seg,  // (n_seg + 1)
                              int64_t n_seg,
                              double* sums) {  // (m, n_seg)
  for (int64_t i = 0; i < m; ++i) {
    const float* row = tile + i * nb;
    for (int64_t s = 0; s < n_seg; ++s) {
      const int64_t lo = std::max(seg[s], col0), hi = std::min(seg[s + 1], col0 + nb);
      if (hi > lo) sums[i * n_seg + s] += row_dot<float>(row + (lo - col0), nullptr, hi - lo);
    }
  }
}

}  // namespace cuvi::cpu
