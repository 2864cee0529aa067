// PCR: between- and total scatter in double; PCA of a sparse matrix through ARPACK on the implicitly
// centred Gram operator v -> Xc^T (Xc v).
#include "tools/workflow/scib_pcr.h"

#include <algorithm>
#include <string>

#include "engine/error.h"
#include "tools/workflow/sym_eigen.h"

namespace cuvi::workflow {

double pcr_score(const float* x, int64_t n, int64_t d, const std::vector<int32_t>& batches, int32_t n_batches) {
  CUVI_CHECK(n_batches >= 2, "principal component regression is undefined for a single batch");
  std::vector<double> mean(size_t(d), 0.0), bmean(size_t(n_batches * d), 0.0);
  std::vector<int64_t> count(size_t(n_batches), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t b = batches[size_t(i)];
    ++count[size_t(b)];
    for (int64_t t = 0; t < d; ++t) {
      mean[size_t(t)] += x[i * d + t];
      bmean[size_t(b * d + t)] += x[i * d + t];
    }
  }
  for (double& m : mean) m /= double(n);
  double between = 0, total = 0;
  for (int32_t b = 0; b < n_batches; ++b)
    for (int64_t t = 0; t < d; ++t) {
      const double diff = bmean[size_t(b * d + t)] / double(count[size_t(b)]) - mean[size_t(t)];
      between += double(count[size_t(b)]) * diff * diff;
    }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < d; ++t) {
      const double diff = x[i * d + t] - mean[size_t(t)];
      total += diff * diff;
    }
  return between / total;
}

double pcr_comparison_score(double pcr_pre, double pcr_post) {
  const double v = (pcr_pre - pcr_post) / pcr_pre;
  return v < 0 ? 0.0 : v;
}

std::vector<float> pca_coordinates(const io::CsrMatrix& x, int64_t* n_comps) {
  const int64_t n = x.n_rows, g = x.n_cols;
  int64_t k = *n_comps > 0 ? *n_comps : std::min<int64_t>(50, std::min(n, g) - 1);
  CUVI_CHECK(k >= 1 && k < std::min(n, g), "PCA: " + std::to_string(k) + " components of a " + std::to_string(n) +
                                               " x " + std::to_string(g) + " matrix");
  *n_comps = k;
  std::vector<double> mu(size_t(g), 0.0);
  for (int64_t p = 0; p < x.nnz(); ++p) mu[size_t(x.indices[size_t(p)])] += x.data[size_t(p)];
  for (double& m : mu) m /= double(n);
  std::vector<double> u(static_cast<size_t>(n));
  // Gram operator of the centred matrix: Xc^T Xc v = X^T (X v - (mu.v) 1) - mu * sum_i (X v - (mu.v) 1)_i.
  auto apply = [&](const double* v, double* y) {
    double mv = 0;
    for (int64_t j = 0; j < g; ++j) mv += mu[size_t(j)] * v[j];
    double su = 0;
    for (int64_t i = 0; i < n; ++i) {
      double s = -mv;
      for (int64_t p = x.indptr[size_t(i)]; p < x.indptr[size_t(i + 1)]; ++p) s += double(x.data[size_t(p)]) * v[x.indices[size_t(p)]];
      u[size_t(i)] = s;
      su += s;
    }
    for (int64_t j = 0; j < g; ++j) y[j] = -mu[size_t(j)] * su;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = x.indptr[size_t(i)]; p < x.indptr[size_t(i + 1)]; ++p)
        y[x.indices[size_t(p)]] += double(x.data[size_t(p)]) * u[size_t(i)];
  };
  const EigenPairs e = arpack_eigen(g, k, apply, EigenOrder::LargestAlgebraic);
  std::vector<float> coords(size_t(n * k));
  std::vector<double> shift(size_t(k), 0.0);  // mu . v_c
  for (int64_t j = 0; j < g; ++j)
    for (int64_t c = 0; c < k; ++c) shift[size_t(c)] += mu[size_t(j)] * e.vectors[size_t(j * k + c)];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) {
      double s = -shift[size_t(c)];
      for (int64_t p = x.indptr[size_t(i)]; p < x.indptr[size_t(i + 1)]; ++p)
        s += double(x.data[size_t(p)]) * e.vectors[size_t(int64_t(x.indices[size_t(p)]) * k + c)];
      coords[size_t(i * k + c)] = float(s);
    }
  return coords;
}

}  // namespace cuvi::workflow
