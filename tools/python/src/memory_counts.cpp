// In-memory counts to a validated CSR (see memory_counts.h): the structure and value checks of the file
// readers (io/validate.h messages), borrowing float32/int32 CSR arrays, converting everything else.
#include "tools/python/src/memory_counts.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "engine/error.h"
#include "io/h5_util.h"
#include "io/validate.h"

namespace cuvi::python {
namespace {

namespace nb = nanobind;

[[noreturn]] void fail_in(const MemoryCounts& s, const std::string& problem) {
  io::fail_at(s.where, s.element, problem);
}

std::string dtype_name(nb::dlpack::dtype d) {
  using C = nb::dlpack::dtype_code;
  const char* kind = d.code == uint8_t(C::Int)     ? "int"
                     : d.code == uint8_t(C::UInt)  ? "uint"
                     : d.code == uint8_t(C::Float) ? "float"
                     : d.code == uint8_t(C::Bool)  ? "bool"
                     : d.code == uint8_t(C::Complex) ? "complex"
                                                     : "dtype code " ;
  return std::string(kind) + std::to_string(d.bits);
}

// Calls f(const T*) with the array's values as their C++ type; other dtypes are errors naming `what`.
template <class F>
void with_values(const MemoryCounts& s, const InArray& a, const std::string& what, F&& f) {
  const nb::dlpack::dtype d = a.dtype();
  const void* p = a.data();
  if (d == nb::dtype<float>()) return f(static_cast<const float*>(p));
  if (d == nb::dtype<double>()) return f(static_cast<const double*>(p));
  if (d == nb::dtype<int32_t>()) return f(static_cast<const int32_t*>(p));
  if (d == nb::dtype<int64_t>()) return f(static_cast<const int64_t*>(p));
  if (d == nb::dtype<int16_t>()) return f(static_cast<const int16_t*>(p));
  if (d == nb::dtype<int8_t>()) return f(static_cast<const int8_t*>(p));
  if (d == nb::dtype<uint32_t>()) return f(static_cast<const uint32_t*>(p));
  if (d == nb::dtype<uint64_t>()) return f(static_cast<const uint64_t*>(p));
  if (d == nb::dtype<uint16_t>()) return f(static_cast<const uint16_t*>(p));
  if (d == nb::dtype<uint8_t>()) return f(static_cast<const uint8_t*>(p));
  fail_in(s, what + " has dtype " + dtype_name(d) +
                 ", which cuvi does not read as counts (float32, float64 or an integer type)");
}

template <class F>
void with_indices(const MemoryCounts& s, const InArray& a, const std::string& what, F&& f) {
  const nb::dlpack::dtype d = a.dtype();
  if (d == nb::dtype<int32_t>()) return f(static_cast<const int32_t*>(a.data()));
  if (d == nb::dtype<int64_t>()) return f(static_cast<const int64_t*>(a.data()));
  fail_in(s, what + " has dtype " + dtype_name(d) + "; expected int32 or int64");
}

void check_vector(const MemoryCounts& s, const InArray& a, const std::string& what) {
  if (a.ndim() != 1 || (a.shape(0) > 1 && a.stride(0) != 1))
    fail_in(s, what + " must be a contiguous 1-d array (scipy's sparse matrix arrays are)");
}

template <class V>
void check_value(const MemoryCounts& s, V v, int64_t row, int64_t col) {
  const double x = double(v);
  if (!io::is_count_value(x, s.allow_fractional)) fail_in(s, io::count_value_problem(x, row, col, s.allow_fractional));
}

// Rows of an owned CSR sorted by column; a column repeated within a row is an error.
void sort_rows(const MemoryCounts& s, io::CsrMatrix& m, bool csc) {
  std::vector<std::pair<int32_t, float>> row;
  for (int64_t r = 0; r < m.n_rows; ++r) {
    const int64_t b = m.indptr[size_t(r)], e = m.indptr[size_t(r + 1)];
    bool in_order = true;
    for (int64_t q = b + 1; q < e && in_order; ++q) in_order = m.indices[size_t(q)] > m.indices[size_t(q - 1)];
    if (in_order) continue;
    row.clear();
    for (int64_t q = b; q < e; ++q) row.emplace_back(m.indices[size_t(q)], m.data[size_t(q)]);
    std::sort(row.begin(), row.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (size_t k = 0; k < row.size(); ++k) {
      if (k > 0 && row[k].first == row[k - 1].first)
        fail_in(s, csc ? io::duplicate_index(true, r, row[k].first) : io::duplicate_index(false, row[k].first, r));
      m.indices[size_t(b) + k] = row[k].first;
      m.data[size_t(b) + k] = row[k].second;
    }
  }
}

template <class V, class I>
CountsResult compressed(const MemoryCounts& s, bool csc, const V* val, const I* idx, std::vector<int64_t> ptr,
                        int64_t R, int64_t G) {
  const int64_t n_major = csc ? G : R, n_minor = csc ? R : G;
  bool sorted = true;
  for (int64_t j = 0; j < n_major; ++j)
    for (int64_t q = ptr[size_t(j)]; q < ptr[size_t(j + 1)]; ++q) {
      const int64_t c = int64_t(idx[q]);
      if (c < 0 || c >= n_minor) fail_in(s, io::index_out_of_range(csc, c, j, n_minor));
      if (q > ptr[size_t(j)]) {
        const int64_t prev = int64_t(idx[q - 1]);
        if (c == prev) fail_in(s, io::duplicate_index(csc, c, j));
        sorted = sorted && c > prev;
      }
      check_value(s, val[q], csc ? c : j, csc ? j : c);
    }
  CountsResult r;
  if (!csc && sorted && std::is_same_v<V, float> && std::is_same_v<I, int32_t>) {
    r.borrowed = true;
    r.indptr = std::move(ptr);
    return r;
  }
  io::CsrMatrix& m = r.owned;
  m.n_rows = R;
  m.n_cols = G;
  const int64_t nnz = ptr.back();
  m.indices.resize(size_t(nnz));
  m.data.resize(size_t(nnz));
  if (!csc) {
    m.indptr = std::move(ptr);
    for (int64_t q = 0; q < nnz; ++q) {
      m.indices[size_t(q)] = int32_t(idx[q]);
      m.data[size_t(q)] = float(val[q]);
    }
  } else {
    // Columns scattered in ascending order leave every row sorted by column.
    m.indptr.assign(size_t(R + 1), 0);
    for (int64_t q = 0; q < nnz; ++q) ++m.indptr[size_t(idx[q]) + 1];
    for (int64_t i = 0; i < R; ++i) m.indptr[size_t(i + 1)] += m.indptr[size_t(i)];
    std::vector<int64_t> cursor(m.indptr.begin(), m.indptr.end() - 1);
    for (int64_t j = 0; j < G; ++j)
      for (int64_t q = ptr[size_t(j)]; q < ptr[size_t(j + 1)]; ++q) {
        const int64_t at = cursor[size_t(idx[q])]++;
        m.indices[size_t(at)] = int32_t(j);
        m.data[size_t(at)] = float(val[q]);
      }
  }
  sort_rows(s, m, csc);
  return r;
}

template <class V>
io::CsrMatrix dense(const MemoryCounts& s, const V* p, int64_t R, int64_t G, int64_t s0, int64_t s1) {
  io::CsrMatrix m;
  m.n_rows = R;
  m.n_cols = G;
  m.indptr.assign(size_t(R + 1), 0);
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t c = 0; c < G; ++c) {
      const V v = p[r * s0 + c * s1];
      if (v == V(0)) continue;
      check_value(s, v, r, c);
      m.indices.push_back(int32_t(c));
      m.data.push_back(float(v));
    }
    m.indptr[size_t(r + 1)] = int64_t(m.data.size());
  }
  return m;
}

}  // namespace

CountsResult read_counts(const MemoryCounts& s, const std::string& storage, const InArray& values,
                         const InArray* indices, const InArray* indptr, int64_t n_rows, int64_t n_cols) {
  CUVI_CHECK(n_rows >= 0 && n_cols >= 0, "negative matrix shape");
  CUVI_CHECK(n_cols <= INT32_MAX, s.where + ": " + s.element + ": more genes than int32 column indices can hold");
  CountsResult r;
  if (storage == "dense") {
    if (values.ndim() != 2 || int64_t(values.shape(0)) != n_rows || int64_t(values.shape(1)) != n_cols)
      fail_in(s, "the dense matrix must be 2-d of shape (" + std::to_string(n_rows) + ", " + std::to_string(n_cols) +
                     ")");
    const int64_t s0 = n_rows ? values.stride(0) : 0, s1 = n_cols ? values.stride(1) : 0;
    with_values(s, values, "the matrix", [&](const auto* p) { r.owned = dense(s, p, n_rows, n_cols, s0, s1); });
    return r;
  }
  const bool csc = storage == "csc";
  CUVI_CHECK(csc || storage == "csr", "storage must be csr, csc or dense, got '" + storage + "'");
  CUVI_CHECK(indices && indptr, "a sparse matrix needs its indices and indptr arrays");
  check_vector(s, values, "data");
  check_vector(s, *indices, "indices");
  check_vector(s, *indptr, "indptr");
  const int64_t nnz = int64_t(values.shape(0)), n_major = csc ? n_cols : n_rows;
  if (int64_t(indices->shape(0)) != nnz)
    fail_in(s, "indices has " + std::to_string(indices->shape(0)) + " entries but data has " + std::to_string(nnz));
  std::vector<int64_t> ptr(indptr->shape(0));
  with_indices(s, *indptr, "indptr", [&](const auto* p) { std::copy(p, p + ptr.size(), ptr.begin()); });
  const std::string problem = ptr.empty() ? "indptr is empty" : io::indptr_problem(ptr, n_major, nnz);
  if (!problem.empty()) fail_in(s, "indptr " + problem);
  with_values(s, values, "data", [&](const auto* v) {
    with_indices(s, *indices, "indices",
                 [&](const auto* i) { r = compressed(s, csc, v, i, std::move(ptr), n_rows, n_cols); });
  });
  return r;
}

}  // namespace cuvi::python
