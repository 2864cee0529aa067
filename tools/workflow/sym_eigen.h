// Leading eigenpairs of real symmetric matrices: dense through LAPACK dsyevr (OpenBLAS), large or implicit
// operators through ARPACK's implicitly restarted Lanczos (libigraph's igraph_arpack_rssolve).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace cuvi::workflow {

struct EigenPairs {
  int64_t n = 0, k = 0;
  std::vector<double> values;   // (k)
  std::vector<double> vectors;  // (n, k) row-major: column j is the unit eigenvector of values[j]
};

enum class EigenOrder { LargestMagnitude, LargestAlgebraic };

// The k eigenpairs of the dense symmetric (n, n) row-major matrix a that come first in `order`, in that order.
EigenPairs dense_eigen(std::vector<double> a, int64_t n, int64_t k, EigenOrder order);

// The same for an operator apply(x, y): y = A x (x, y of length n), by ARPACK with scipy's eigsh defaults
// (ncv = min(n, max(2k + 1, 20)), tolerance = machine precision, at most 10 n restarts). k < n.
EigenPairs arpack_eigen(int64_t n, int64_t k, const std::function<void(const double*, double*)>& apply,
                        EigenOrder order);

}  // namespace cuvi::workflow
