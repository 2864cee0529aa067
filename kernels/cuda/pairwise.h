// CUDA launchers of the pairwise-distance kernels (CPU reference: kernels/cpu/pairwise.h): distance tiles
// (cuBLAS SGEMM + epilogue), per-row top-k merge, exact re-ranking, per-segment row sums. Deterministic.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

constexpr int kKnnMaxK = 128;  // largest k the top-k merge keeps per row

enum class TileDistance { SqEuclidean, Euclidean, Cosine };  // as cpu::TileDistance

void row_sq_norms(cudaStream_t s, const float* x /*(n, d)*/, int64_t n, int64_t d, float* out /*(n)*/);
void normalize_rows(cudaStream_t s, float* x /*(n, d)*/, int64_t n, int64_t d);

// tile(i, j) = distance(q_i, b_j); q_sq, b_sq: squared row norms (may be null for Cosine).
void distance_tile(cublasHandle_t h, cudaStream_t s, const float* q /*(m, d)*/, const float* q_sq /*(m)*/,
                   const float* b /*(nb, d)*/, const float* b_sq /*(nb)*/, int64_t m, int64_t nb, int64_t d,
                   TileDistance kind, float* tile /*(m, nb)*/);

void topk_init(cudaStream_t s, int64_t m, int64_t k, float* best_d /*(m, k)*/, int32_t* best_i /*(m, k)*/);
// Row i of the tile (base rows col0 .. col0 + nb - 1) merged into row i's k nearest; self (m) or null.
void topk_merge_tile(cudaStream_t s, const float* tile /*(m, nb)*/, int64_t m, int64_t nb, int64_t col0,
                     const int64_t* self /*(m)*/, int64_t k, float* best_d /*(m, k)*/, int32_t* best_i /*(m, k)*/);
// Exact distances of the chosen neighbours, lists re-sorted (cpu::knn_refine).
void knn_refine(cudaStream_t s, const float* q /*(m, d)*/, const float* b /*(n, d)*/, int64_t m, int64_t d,
                int64_t k, float* best_d /*(m, k)*/, int32_t* best_i /*(m, k)*/);

// sums(i, s) += row i of the tile summed over segment s (base rows [seg[s], seg[s + 1])).
void segment_sums_tile(cudaStream_t s, const float* tile /*(m, nb)*/, int64_t m, int64_t nb, int64_t col0,
                       const int64_t* seg /*(n_seg + 1)*/, int64_t n_seg, double* sums /*(m, n_seg)*/);

}  // namespace cuvi::cuda
