// Symmetric eigenproblems: LAPACK dsyevr for every eigenpair of a small dense matrix, ARPACK (through
// libigraph) for the leading few of a large sparse or implicit one; both return the chosen pairs in order.
#include "tools/workflow/sym_eigen.h"

#include <cblas.h>
#include <igraph.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "engine/error.h"
#include "tools/workflow/igraph_util.h"

extern "C" void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a, const int* lda,
                        const double* vl, const double* vu, const int* il, const int* iu, const double* abstol, int* m,
                        double* w, double* z, const int* ldz, int* isuppz, double* work, const int* lwork, int* iwork,
                        const int* liwork, int* info);

namespace cuvi::workflow {
namespace {

// Indices of `values` in `order` (stable: equal keys keep LAPACK's ascending order).
std::vector<int64_t> ranked(const std::vector<double>& values, EigenOrder order) {
  std::vector<int64_t> idx(values.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return order == EigenOrder::LargestMagnitude ? std::fabs(values[size_t(a)]) > std::fabs(values[size_t(b)])
                                                 : values[size_t(a)] > values[size_t(b)];
  });
  return idx;
}

// LAPACK's tridiagonalisation and ARPACK's Lanczos steps call BLAS level 2 thousands of times on vectors:
// OpenBLAS would open a thread team for each call, and its threads mostly spin at the barriers (on a
// loaded machine far worse). OpenBLAS and OpenMP are set to one thread for the call, then restored.
class SerialBlas {
 public:
  SerialBlas() : m_omp(omp_get_max_threads()), m_blas(openblas_get_num_threads()) {
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
  }
  ~SerialBlas() {
    openblas_set_num_threads(m_blas);
    omp_set_num_threads(m_omp);
  }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int m_omp, m_blas;
};

struct ArpackCall {
  const std::function<void(const double*, double*)>* apply;
};

igraph_error_t arpack_apply(igraph_real_t* to, const igraph_real_t* from, int, void* extra) {
  (*static_cast<ArpackCall*>(extra)->apply)(from, to);
  return IGRAPH_SUCCESS;
}

}  // namespace

EigenPairs dense_eigen(std::vector<double> a, int64_t n, int64_t k, EigenOrder order) {
  CUVI_CHECK(int64_t(a.size()) == n * n && k >= 1 && k <= n, "dense_eigen: bad shape");
  // Row-major symmetric = column-major symmetric: LAPACK reads the same matrix.
  const int N = int(n), lda = int(n), ldz = int(n), il = 1, iu = int(n);
  const double vl = 0, vu = 0, abstol = 0;
  int m = 0, info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  std::vector<double> w(static_cast<size_t>(n)), z(static_cast<size_t>(n * n));
  std::vector<int> isuppz(static_cast<size_t>(2 * n));
  const SerialBlas serial;
  dsyevr_("V", "A", "L", &N, a.data(), &lda, &vl, &vu, &il, &iu, &abstol, &m, w.data(), z.data(), &ldz, isuppz.data(),
          &work_query, &lwork, &iwork_query, &liwork, &info);
  lwork = int(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<size_t>(std::max(lwork, 1)));
  std::vector<int> iwork(static_cast<size_t>(std::max(liwork, 1)));
  dsyevr_("V", "A", "L", &N, a.data(), &lda, &vl, &vu, &il, &iu, &abstol, &m, w.data(), z.data(), &ldz, isuppz.data(),
          work.data(), &lwork, iwork.data(), &liwork, &info);
  CUVI_CHECK(info == 0 && m == N, "LAPACK dsyevr failed (info " + std::to_string(info) + ")");
  const std::vector<int64_t> pick = ranked(w, order);
  EigenPairs e;
  e.n = n;
  e.k = k;
  e.values.resize(size_t(k));
  e.vectors.resize(size_t(n * k));
  for (int64_t j = 0; j < k; ++j) {
    const int64_t src = pick[size_t(j)];
    e.values[size_t(j)] = w[size_t(src)];
    for (int64_t i = 0; i < n; ++i) e.vectors[size_t(i * k + j)] = z[size_t(src * n + i)];  // z column-major
  }
  return e;
}

EigenPairs arpack_eigen(int64_t n, int64_t k, const std::function<void(const double*, double*)>& apply,
                        EigenOrder order) {
  CUVI_CHECK(k >= 1 && k < n, "arpack_eigen: need 1 <= k < n (k = " + std::to_string(k) + ", n = " + std::to_string(n) + ")");
  igraph_arpack_options_t opts;
  igraph_arpack_options_init(&opts);
  opts.n = int(n);
  opts.nev = int(k);
  opts.ncv = int(std::min<int64_t>(n, std::max<int64_t>(2 * k + 1, 20)));
  opts.which[0] = 'L';
  opts.which[1] = order == EigenOrder::LargestMagnitude ? 'M' : 'A';
  opts.tol = 0;
  opts.mxiter = int(std::min<int64_t>(10 * n, 1 << 30));
  igraph_vector_t values;
  igraph_matrix_t vectors;
  igraph_ok(igraph_vector_init(&values, 0), "igraph_vector_init");
  if (igraph_matrix_init(&vectors, 0, 0) != IGRAPH_SUCCESS) {
    igraph_vector_destroy(&values);
    fail("igraph_matrix_init failed");
  }
  ArpackCall call{&apply};
  const SerialBlas serial;
  const igraph_error_t code = igraph_arpack_rssolve(arpack_apply, &call, &opts, nullptr, &values, &vectors);
  EigenPairs e;
  if (code == IGRAPH_SUCCESS) {
    std::vector<double> got(static_cast<size_t>(igraph_vector_size(&values)));
    for (size_t j = 0; j < got.size(); ++j) got[j] = VECTOR(values)[long(j)];
    const std::vector<int64_t> pick = ranked(got, order);
    e.n = n;
    e.k = k;
    e.values.resize(size_t(k));
    e.vectors.resize(size_t(n * k));
    for (int64_t j = 0; j < k; ++j) {
      e.values[size_t(j)] = got[size_t(pick[size_t(j)])];
      for (int64_t i = 0; i < n; ++i) e.vectors[size_t(i * k + j)] = MATRIX(vectors, i, pick[size_t(j)]);
    }
  }
  igraph_vector_destroy(&values);
  igraph_matrix_destroy(&vectors);
  igraph_ok(code, "ARPACK (igraph_arpack_rssolve)");
  return e;
}

}  // namespace cuvi::workflow
