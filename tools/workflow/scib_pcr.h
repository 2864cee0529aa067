// Principal component regression of scib-metrics 0.6 (principal_component_regression with a categorical
// covariate, pcr_comparison) and the PCA of a cells x genes matrix that the Benchmarker uses as the
// pre-integration embedding when none is given (scanpy's sc.tl.pca, ARPACK, 50 components).
#pragma once
#include <cstdint>
#include <vector>

#include "io/csr.h"

namespace cuvi::workflow {

// Variance-weighted R^2 of a batch regression over all principal components of x. With every component
// kept and a one-hot (centred) batch design, R^2_k = between-batch / total sum of squares of PC k, so the
// weighted mean is trace(between-batch scatter) / trace(total scatter), computed here directly.
double pcr_score(const float* x,  // (n, d)
                 int64_t n, int64_t d, const std::vector<int32_t>& batches, int32_t n_batches);

// (pcr_pre - pcr_post) / pcr_pre, 0 when negative (scale=True).
double pcr_comparison_score(double pcr_pre, double pcr_post);

// The leading principal components of x (zero-centred implicitly, sparse kept sparse): (n, n_comps)
// row-major coordinates (x - mean) V. n_comps <= 0: scanpy's default min(50, min(n, genes) - 1).
std::vector<float> pca_coordinates(const io::CsrMatrix& x, int64_t* n_comps);

}  // namespace cuvi::workflow
