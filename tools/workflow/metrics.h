// Latent-space quality metrics used by the quality tests and `cuvi metrics`, defined exactly as in
// tools/fixtures/scvi_reference.py so cuvi and scvi-tools are scored the same way.
#pragma once
#include <cstdint>
#include <vector>

namespace cuvi::workflow {

// k nearest neighbours of every cell (Euclidean, exact, excluding the cell; ties by the smaller index):
// (n, k) indices, nearest first. latent: (n, d) row-major. Runs knn_search on a CPU backend.
std::vector<int32_t> knn(const std::vector<float>& latent, int64_t n, int64_t d, int64_t k);

// Majority label of the k neighbours (ties: smallest label code) compared with the cell's label.
double knn_accuracy(const std::vector<float>& latent, int64_t n, int64_t d, const std::vector<int32_t>& labels,
                    int64_t k = 15);

// Mean over cells of the entropy of batch proportions among the k neighbours, / ln(n_batches).
double batch_mixing(const std::vector<float>& latent, int64_t n, int64_t d, const std::vector<int32_t>& batches,
                    int64_t k = 50);

}  // namespace cuvi::workflow
