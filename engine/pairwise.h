// Exact nearest-neighbour search and per-segment distance sums on a backend (CPU: kernels/cpu/pairwise.h,
// CUDA: kernels/cuda/pairwise.cu), in distance tiles so that memory stays bounded at any number of rows.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/backend.h"

namespace cuvi {

constexpr int64_t kKnnMaxNeighbors = 128;  // largest k of one search

enum class PairDistance { Euclidean, Cosine };  // cosine: 1 - cos(angle), clipped to [0, 2]

// Query rows x base rows of one distance tile; 0 takes the backend's default (CPU 256 x 4096, CUDA
// 2048 x 16384). Tests shrink it to cross tile boundaries at small sizes.
struct TileShape {
  int64_t rows = 0, cols = 0;
};

struct KnnLists {
  int64_t n_rows = 0, k = 0;
  std::vector<int32_t> indices;  // (n_rows, k) base rows, nearest first, ties by the smaller index
  std::vector<float> distances;  // (n_rows, k) exact Euclidean distances
};

// For every query row, its k nearest base rows by Euclidean distance. Tiles choose the candidates; each
// chosen distance is then recomputed exactly (double sum over the given coordinates) and the list sorted
// by it. skip_self: the queries are the base rows themselves (m == n) and row i never lists itself.
KnnLists knn_search(Backend& backend,
                    const float* queries,  // (m, d)
                    int64_t m,
                    const float* base,  // (n, d)
                    int64_t n, int64_t d, int64_t k, bool skip_self, TileShape tiles = {});

// sums(i, s) = sum over rows j of segment s of distance(x_i, x_j), for rows grouped so that segment s is
// rows [seg[s], seg[s + 1]). Row i's own term is included (0 for Euclidean).
std::vector<double> segment_distance_sums(Backend& backend,
                                          const float* x,  // (n, d)
                                          int64_t n, int64_t d,
                                          const std::vector<int64_t>& seg,  // (n_seg + 1)
                                          PairDistance metric,              // -> (n, n_seg)
                                          TileShape tiles = {});

}  // namespace cuvi
