// Numerical pieces of MRVI's counterfactual differential expression (spec/mrvi.md §5 steps 3, 6):
// symmetric eigendecomposition (cyclic Jacobi), the principal square root and pseudo-inverse of a
// symmetric positive semi-definite matrix, the chi-squared survival function, Benjamini-Hochberg.
#pragma once
#include <cstdint>
#include <vector>

namespace cuvi::workflow {

// a (n, n) symmetric -> eigenvalues (n) and eigenvectors as columns of v (n, n), row-major.
void symmetric_eigen(const std::vector<double>& a, int64_t n, std::vector<double>* values, std::vector<double>* v);
// Principal square root of a symmetric PSD matrix (negative rounding eigenvalues count as 0; NaN/inf
// entries become 0, as scvi-tools does after scipy's sqrtm).
std::vector<double> psd_sqrtm(const std::vector<double>& a, int64_t n);
// Moore-Penrose pseudo-inverse of a symmetric matrix; eigenvalues below rtol * max |lambda| count as 0
// (torch.linalg.pinv's default rtol: n * float32 epsilon).
std::vector<double> symmetric_pinv(const std::vector<double>& a, int64_t n);
// Benjamini-Hochberg adjusted p-values (scipy.stats.false_discovery_control(method="bh")).
std::vector<double> benjamini_hochberg(const std::vector<double>& p);

}  // namespace cuvi::workflow
