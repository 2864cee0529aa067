// Block-wise matrix reader: dense, CSR and CSC elements to CSR with row/column subsets (see matrix_reader.h).
// Implements file-formats.md §1.3 (storage kinds), §4.2 (hyperslab blocks) and §4.3-4.4 (index and value dtypes).
#include "io/matrix_reader.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>

#include "engine/error.h"
#include "io/validate.h"

namespace cuvi::io {

namespace {

constexpr int64_t kBlock = int64_t(1) << 20;  // stored entries per hyperslab read
constexpr int64_t kGap = int64_t(1) << 16;    // unrequested entries worth reading to merge two reads
constexpr int64_t kMaxExtent = int64_t(1) << 60;  // keeps n + 1 and block arithmetic far from overflow

std::string shape_str(const std::vector<int64_t>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + ")";
}

std::string at(int64_t row, int64_t col) { return " at row " + std::to_string(row) + ", column " + std::to_string(col); }

// Value checks for count matrices; message names the element, the position and the problem.
// With allow_fractional, non-integer values pass (the caller counts them and warns).
struct ValueGuard {
  const Node* where;
  bool allow_fractional = false;
  void check(double v, int64_t row, int64_t col) const {
    if (!is_count_value(v, allow_fractional)) where->fail(count_value_problem(v, row, col, allow_fractional));
  }
};

// Selected columns: map[old] = new index or -1; by_new lists (new, old) in output order.
struct ColMap {
  bool active = false;
  bool monotonic = true;
  std::vector<int32_t> map;
  std::vector<int64_t> old_sorted;  // selected old columns, ascending
  std::vector<int64_t> by_new;      // old column of each output column
};

ColMap make_col_map(const MatrixElement& m, const std::optional<std::vector<int64_t>>& cols, int64_t budget) {
  ColMap cm;
  if (!cols) return cm;
  cm.active = true;
  check_alloc(m.node.file(), m.node.path(), m.n_cols, 4, budget, "the column map");
  cm.map.assign(size_t(m.n_cols), -1);
  const auto& c = *cols;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] < 0 || c[i] >= m.n_cols)
      m.node.fail("column " + std::to_string(c[i]) + " requested but the matrix has " + std::to_string(m.n_cols) + " columns");
    if (cm.map[size_t(c[i])] >= 0) m.node.fail("column " + std::to_string(c[i]) + " requested twice");
    cm.map[size_t(c[i])] = int32_t(i);
    if (i > 0 && c[i] < c[i - 1]) cm.monotonic = false;
  }
  cm.by_new = c;
  cm.old_sorted = c;
  std::sort(cm.old_sorted.begin(), cm.old_sorted.end());
  return cm;
}

// indptr of a compressed element, validated: length n_major + 1, starts at 0, monotonic, ends at nnz.
std::vector<int64_t> read_indptr(const MatrixElement& m, int64_t n_major, int64_t budget) {
  check_alloc(m.indptr.file(), m.indptr.path(), n_major + 1, 8, budget, "indptr");
  std::vector<int64_t> p = read_ints(m.indptr, budget);
  const std::string problem = indptr_problem(p, n_major, m.nnz);
  if (!problem.empty()) m.indptr.fail(problem);
  return p;
}

// Visits the majors (rows of CSR, columns of CSC) listed in `majors` (ascending, unique), reading whole
// majors in blocks. Validates minor indices (range, strictly increasing). Minor indices are remapped
// through minor_map when given (unselected dropped); values are read when with_values and checked by guard.
// on_major(major, const int32_t* minor, const float* values, int64_t n).
struct VisitOpts {
  const ColMap* minor_map = nullptr;  // remap/drop minor indices
  bool with_values = false;
  const ValueGuard* guard = nullptr;
  bool strict_order = false;           // unsorted minor indices are an error instead of being sorted
  int64_t* unsorted = nullptr;         // counts majors whose indices had to be sorted
  int64_t budget = 0;
};

template <class F>
void visit_majors(const MatrixElement& m, const std::vector<int64_t>& indptr, const std::vector<int64_t>& majors,
                  bool csc, const VisitOpts& vo, F&& on_major) {
  const ColMap* minor_map = vo.minor_map;
  const bool with_values = vo.with_values;
  const ValueGuard* guard = vo.guard;
  const int64_t budget = vo.budget;
  const int64_t n_minor = csc ? m.n_rows : m.n_cols;
  const char* major_name = csc ? "column " : "row ";
  const char* minor_plural = csc ? "row indices" : "column indices";
  std::vector<int64_t> idx_buf;
  std::vector<double> val_buf;
  std::vector<int32_t> out_idx;
  std::vector<float> out_val;
  std::vector<std::pair<int32_t, float>> pairs;
  size_t i = 0;
  while (i < majors.size()) {
    const int64_t r0 = majors[i];
    int64_t r1 = r0 + 1;
    size_t j = i + 1;
    while (j < majors.size()) {
      const int64_t rn = majors[j];
      if (indptr[size_t(rn + 1)] - indptr[size_t(r0)] > kBlock || indptr[size_t(rn)] - indptr[size_t(r1)] > kGap) break;
      r1 = rn + 1;
      ++j;
    }
    const int64_t e0 = indptr[size_t(r0)], e1 = indptr[size_t(r1)];
    const int64_t ne = e1 - e0;
    if (int64_t(idx_buf.size()) < ne) {
      check_alloc(m.indices.file(), m.indices.path(), ne, 16, budget, "a block of entries");
      idx_buf.resize(size_t(ne));
      if (with_values) val_buf.resize(size_t(ne));
    }
    if (with_values && int64_t(val_buf.size()) < ne) val_buf.resize(size_t(ne));
    read_range(m.indices, e0, ne, idx_buf.data());
    if (with_values) read_range(m.data, e0, ne, val_buf.data());
    for (size_t k = i; k < j; ++k) {
      const int64_t r = majors[k];
      const int64_t s = indptr[size_t(r)] - e0, n = indptr[size_t(r + 1)] - indptr[size_t(r)];
      if (n > n_minor)
        m.indptr.fail(major_name + std::to_string(r) + " has " + std::to_string(n) + " entries but the matrix has only " +
                      std::to_string(n_minor) + (csc ? " rows" : " columns"));
      out_idx.clear();
      out_val.clear();
      bool unsorted = false;
      for (int64_t q = 0; q < n; ++q) {
        const int64_t c = idx_buf[size_t(s + q)];
        if (c < 0 || c >= n_minor) m.indices.fail(index_out_of_range(csc, c, r, n_minor));
        if (q > 0) {
          const int64_t prev = idx_buf[size_t(s + q - 1)];
          if (c == prev) m.indices.fail(duplicate_index(csc, c, r));
          if (c < prev) {
            if (vo.strict_order)
              m.indices.fail(std::string(minor_plural) + " not sorted within " + major_name + std::to_string(r) + " (" +
                             std::to_string(c) + " after " + std::to_string(prev) + ")");
            unsorted = true;
          }
        }
        int64_t nc = c;
        if (minor_map && minor_map->active) {
          nc = minor_map->map[size_t(c)];
          if (nc < 0) continue;
        }
        float fv = 0;
        if (with_values) {
          const double v = val_buf[size_t(s + q)];
          if (guard) guard->check(v, csc ? c : r, csc ? r : c);
          fv = float(v);
        }
        out_idx.push_back(int32_t(nc));
        out_val.push_back(fv);
      }
      if (unsorted && vo.unsorted) ++*vo.unsorted;
      if (unsorted || (minor_map && minor_map->active && !minor_map->monotonic)) {
        pairs.clear();
        for (size_t q = 0; q < out_idx.size(); ++q) pairs.emplace_back(out_idx[q], out_val[q]);
        std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (size_t q = 0; q < pairs.size(); ++q) {
          out_idx[q] = pairs[q].first;
          out_val[q] = pairs[q].second;
          if (unsorted && q > 0 && out_idx[q] == out_idx[q - 1]) m.indices.fail(duplicate_index(csc, pairs[q].first, r));
        }
      }
      on_major(r, out_idx.data(), out_val.data(), int64_t(out_idx.size()));
    }
    i = j;
  }
}

// Visits rows of a dense 2-d element in blocks of consecutive rows; zeros are dropped.
template <class F>
void visit_dense_rows(const MatrixElement& m, const std::vector<int64_t>& rows, const ColMap& cm,
                      const ValueGuard* guard, int64_t budget, F&& on_row) {
  const int64_t nc = m.n_cols;
  check_alloc(m.node.file(), m.node.path(), nc, 16, budget, "one row");
  const int64_t rows_per_block = std::max<int64_t>(1, kBlock / std::max<int64_t>(1, nc));
  std::vector<double> buf;
  std::vector<int32_t> out_idx;
  std::vector<float> out_val;
  size_t i = 0;
  while (i < rows.size()) {
    const int64_t r0 = rows[i];
    size_t j = i + 1;
    while (j < rows.size() && rows[j] == rows[j - 1] + 1 && rows[j] - r0 < rows_per_block) ++j;
    const int64_t nr = int64_t(j - i);
    buf.resize(size_t(nr * nc));
    read_rows(m.node, r0, nr, buf.data());
    for (int64_t k = 0; k < nr; ++k) {
      const double* row = buf.data() + k * nc;
      const int64_t r = r0 + k;
      out_idx.clear();
      out_val.clear();
      const int64_t n_out = cm.active ? int64_t(cm.by_new.size()) : nc;
      for (int64_t q = 0; q < n_out; ++q) {
        const int64_t c = cm.active ? cm.by_new[size_t(q)] : q;
        const double v = row[c];
        if (guard) guard->check(v, r, c);
        if (v == 0) continue;
        out_idx.push_back(int32_t(q));
        out_val.push_back(float(v));
      }
      on_row(r, out_idx.data(), out_val.data(), int64_t(out_idx.size()));
    }
    i = j;
  }
}

// Output row positions for each source row (linked lists, so one source row may fill several outputs).
struct RowTargets {
  bool identity = true;
  std::vector<int64_t> head;  // per source row: first output position or -1
  std::vector<int64_t> next;  // per output position: next output position with the same source row
  template <class F>
  void each(int64_t src, F&& f) const {
    if (identity) {
      f(src);
      return;
    }
    for (int64_t p = head[size_t(src)]; p >= 0; p = next[size_t(p)]) f(p);
  }
};

void append_row(CsrMatrix& out, const int32_t* idx, const float* val, int64_t n) {
  out.indices.insert(out.indices.end(), idx, idx + n);
  out.data.insert(out.data.end(), val, val + n);
}

CsrMatrix read_csc(const MatrixElement& m, const ReadOptions& o, const ColMap& cm, const std::vector<int64_t>* rows,
                   int64_t out_rows, int64_t budget) {
  const std::vector<int64_t> indptr = read_indptr(m, m.n_cols, budget);
  RowTargets tg;
  if (rows) {
    tg.identity = false;
    check_alloc(m.node.file(), m.node.path(), m.n_rows, 8, budget, "the row map");
    tg.head.assign(size_t(m.n_rows), -1);
    tg.next.assign(size_t(out_rows), -1);
    for (int64_t p = out_rows - 1; p >= 0; --p) {
      const int64_t r = (*rows)[size_t(p)];
      if (r < 0) continue;
      tg.next[size_t(p)] = tg.head[size_t(r)];
      tg.head[size_t(r)] = p;
    }
  }
  std::vector<int64_t> cols;
  if (cm.active) {
    cols = cm.old_sorted;
  } else {
    check_alloc(m.node.file(), m.node.path(), m.n_cols, 8, budget, "the column list");
    cols.resize(size_t(m.n_cols));
    std::iota(cols.begin(), cols.end(), 0);
  }
  CsrMatrix out;
  out.n_rows = out_rows;
  out.n_cols = cm.active ? int64_t(cm.by_new.size()) : m.n_cols;
  out.indptr.assign(size_t(out_rows + 1), 0);
  // Pass 1: entries per output row (indices only).
  VisitOpts v1;
  v1.strict_order = !o.allow_unsorted_indices;
  v1.budget = budget;
  visit_majors(m, indptr, cols, true, v1,
               [&](int64_t, const int32_t* ri, const float*, int64_t n) {
                 for (int64_t q = 0; q < n; ++q) tg.each(ri[q], [&](int64_t p) { ++out.indptr[size_t(p + 1)]; });
               });
  for (int64_t p = 0; p < out_rows; ++p) out.indptr[size_t(p + 1)] += out.indptr[size_t(p)];
  const int64_t total = out.indptr.back();
  check_alloc(m.node.file(), m.node.path(), total, 8, budget, "the selected matrix");
  out.indices.resize(size_t(total));
  out.data.resize(size_t(total));
  std::vector<int64_t> cursor(out.indptr.begin(), out.indptr.end() - 1);
  const ValueGuard guard{&m.data, o.allow_fractional_counts};
  // Pass 2: scatter (columns ascending, so rows fill in column order).
  VisitOpts v2 = v1;
  v2.with_values = true;
  v2.guard = o.require_counts ? &guard : nullptr;
  visit_majors(m, indptr, cols, true, v2,
               [&](int64_t c, const int32_t* ri, const float* v, int64_t n) {
                 const int32_t nc = cm.active ? cm.map[size_t(c)] : int32_t(c);
                 for (int64_t q = 0; q < n; ++q) {
                   tg.each(ri[q], [&](int64_t p) {
                     const int64_t at_pos = cursor[size_t(p)]++;
                     out.indices[size_t(at_pos)] = nc;
                     out.data[size_t(at_pos)] = v[q];
                   });
                 }
               });
  if (cm.active && !cm.monotonic) {
    std::vector<std::pair<int32_t, float>> pairs;
    for (int64_t p = 0; p < out_rows; ++p) {
      const int64_t s = out.indptr[size_t(p)], e = out.indptr[size_t(p + 1)];
      pairs.clear();
      for (int64_t q = s; q < e; ++q) pairs.emplace_back(out.indices[size_t(q)], out.data[size_t(q)]);
      std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (int64_t q = s; q < e; ++q) {
        out.indices[size_t(q)] = pairs[size_t(q - s)].first;
        out.data[size_t(q)] = pairs[size_t(q - s)].second;
      }
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

MatrixElement open_matrix_element(const Node& node) {
  MatrixElement m;
  m.node = node;
  if (node.is_dataset()) {
    const auto d = node.dims();
    if (d.size() != 2) node.fail("expected a 2-d matrix, found shape " + shape_str(d));
    if (d[0] > kMaxExtent) node.fail("shape " + shape_str(d) + " is implausibly large");
    if (!node.is_numeric()) node.fail("matrix values must be numbers, found " + node.dtype_name());
    if (d[1] > INT32_MAX) node.fail("shape " + shape_str(d) + " has more than 2^31 - 1 columns");
    m.storage = "dense";
    m.n_rows = d[0];
    m.n_cols = d[1];
    m.dtype = node.dtype_name();
    return m;
  }
  const std::string enc = node.encoding_type();
  std::vector<int64_t> shape;
  if (enc == "csr_matrix" || enc == "csc_matrix") {
    m.storage = enc == "csr_matrix" ? "csr" : "csc";
    if (!node.has_attr("shape")) node.fail("sparse matrix group has no 'shape' attribute");
    shape = node.attr_ints("shape");
  } else if (node.has_attr("h5sparse_format")) {
    const std::string f = node.attr_string("h5sparse_format").value_or("");
    if (f != "csr" && f != "csc") node.fail("h5sparse_format '" + f + "' is not csr or csc");
    m.storage = f;
    if (!node.has_attr("h5sparse_shape")) node.fail("sparse matrix group has no 'h5sparse_shape' attribute");
    shape = node.attr_ints("h5sparse_shape");
  } else if (!enc.empty()) {
    node.fail("encoding '" + enc + "' is not a matrix (expected array, csr_matrix or csc_matrix)");
  } else {
    node.fail("group is not a matrix: it has neither an encoding-type nor an h5sparse_format attribute");
  }
  if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0)
    node.fail("the shape attribute must hold two non-negative integers, found " + shape_str(shape));
  if (shape[0] > kMaxExtent || shape[1] > kMaxExtent) node.fail("shape " + shape_str(shape) + " is implausibly large");
  m.n_rows = shape[0];
  m.n_cols = shape[1];
  const bool csr = m.storage == "csr";
  const int64_t n_major = csr ? m.n_rows : m.n_cols, n_minor = csr ? m.n_cols : m.n_rows;
  for (const char* member : {"data", "indices", "indptr"})
    if (!node.has(member)) node.fail("sparse matrix group has no '" + std::string(member) + "' dataset");
  m.data = node.open("data");
  m.indices = node.open("indices");
  m.indptr = node.open("indptr");
  for (const Node* part : {&m.data, &m.indices, &m.indptr})
    if (!part->is_dataset()) part->fail("expected a dataset, found a group");
  m.nnz = m.data.length();
  const int64_t n_idx = m.indices.length(), n_ptr = m.indptr.length();
  if (n_idx != m.nnz)
    node.fail("data has " + std::to_string(m.nnz) + " entries but indices has " + std::to_string(n_idx));
  if (n_ptr != n_major + 1)
    node.fail("shape " + shape_str(shape) + " claims " + std::to_string(n_major) + (csr ? " rows" : " columns") +
              " but indptr has " + std::to_string(n_ptr) + " entries (expected " + std::to_string(n_major) + " + 1)");
  if (n_minor > INT32_MAX) node.fail("shape " + shape_str(shape) + " has more than 2^31 - 1 columns");
  if (!m.data.is_numeric()) m.data.fail("values must be numbers, found " + m.data.dtype_name());
  if (m.indices.type_class() != H5T_INTEGER) m.indices.fail("indices must be integers, found " + m.indices.dtype_name());
  if (m.indptr.type_class() != H5T_INTEGER) m.indptr.fail("indptr must be integers, found " + m.indptr.dtype_name());
  m.dtype = m.data.dtype_name();
  return m;
}

MatrixElement make_csr_element(const Node& group, const Node& data, const Node& indices, const Node& indptr,
                               int64_t n_rows, int64_t n_cols) {
  MatrixElement m;
  m.node = group;
  m.storage = "csr";
  m.n_rows = n_rows;
  m.n_cols = n_cols;
  m.data = data;
  m.indices = indices;
  m.indptr = indptr;
  for (const Node* part : {&m.data, &m.indices, &m.indptr})
    if (!part->is_dataset()) part->fail("expected a dataset, found a group");
  if (n_rows < 0 || n_cols < 0 || n_rows > kMaxExtent || n_cols > kMaxExtent)
    group.fail("shape (" + std::to_string(n_cols) + ", " + std::to_string(n_rows) + ") is implausible");
  m.nnz = data.length();
  if (indices.length() != m.nnz)
    group.fail("data has " + std::to_string(m.nnz) + " entries but indices has " + std::to_string(indices.length()));
  if (indptr.length() != n_rows + 1)
    group.fail("indptr has " + std::to_string(indptr.length()) + " entries but there are " + std::to_string(n_rows) +
               " barcodes (expected " + std::to_string(n_rows) + " + 1)");
  if (n_cols > INT32_MAX) group.fail("more than 2^31 - 1 features");
  if (!data.is_numeric()) data.fail("values must be numbers, found " + data.dtype_name());
  if (indices.type_class() != H5T_INTEGER) indices.fail("indices must be integers, found " + indices.dtype_name());
  if (indptr.type_class() != H5T_INTEGER) indptr.fail("indptr must be integers, found " + indptr.dtype_name());
  m.dtype = data.dtype_name();
  return m;
}

CsrMatrix read_matrix_element(const MatrixElement& m, const ReadOptions& o) {
  const int64_t budget = o.memory_budget_bytes > 0 ? o.memory_budget_bytes : default_memory_budget();
  const std::string& file = m.node.file();
  if (o.rows)
    for (int64_t r : *o.rows)
      if (r < -1 || r >= m.n_rows)
        m.node.fail("row " + std::to_string(r) + " requested but the matrix has " + std::to_string(m.n_rows) + " rows");
  const int64_t out_rows = o.rows ? int64_t(o.rows->size()) : m.n_rows;
  check_alloc(file, m.node.path(), out_rows + 1, 8, budget, "the row pointer of the output");
  const ColMap cm = make_col_map(m, o.cols, budget);
  if (m.storage == "csc") return read_csc(m, o, cm, o.rows ? &*o.rows : nullptr, out_rows, budget);

  const bool dense = m.storage == "dense";
  std::vector<int64_t> indptr;
  if (!dense) indptr = read_indptr(m, m.n_rows, budget);
  // Source rows to visit: ascending and unique.
  std::vector<int64_t> visit;
  bool in_order = true;
  if (o.rows) {
    for (size_t i = 0; i < o.rows->size(); ++i)
      if ((*o.rows)[i] < 0 || (i > 0 && (*o.rows)[i] <= (*o.rows)[i - 1])) in_order = false;
    for (int64_t r : *o.rows)
      if (r >= 0) visit.push_back(r);
    std::sort(visit.begin(), visit.end());
    visit.erase(std::unique(visit.begin(), visit.end()), visit.end());
  } else {
    check_alloc(file, m.node.path(), m.n_rows, 8, budget, "the row list");
    visit.resize(size_t(m.n_rows));
    std::iota(visit.begin(), visit.end(), 0);
  }
  const ValueGuard guard{dense ? &m.node : &m.data, o.allow_fractional_counts};
  const ValueGuard* g = o.require_counts ? &guard : nullptr;
  CsrMatrix out;
  out.n_rows = out_rows;
  out.n_cols = cm.active ? int64_t(cm.by_new.size()) : m.n_cols;
  out.indptr.assign(size_t(out_rows + 1), 0);

  auto visit_rows = [&](bool with_values, auto&& fn) {
    if (dense)
      visit_dense_rows(m, visit, cm, g, budget, fn);
    else {
      VisitOpts vo;
      vo.minor_map = &cm;
      vo.with_values = with_values;
      vo.guard = with_values ? g : nullptr;
      vo.strict_order = !o.allow_unsorted_indices;
      vo.budget = budget;
      visit_majors(m, indptr, visit, false, vo, fn);
    }
  };

  if (in_order) {
    if (!dense && !cm.active) {
      int64_t total = 0;
      for (int64_t r : visit) total += indptr[size_t(r + 1)] - indptr[size_t(r)];
      check_alloc(file, m.node.path(), total, 8, budget, "the selected matrix");
      out.indices.reserve(size_t(total));
      out.data.reserve(size_t(total));
    }
    int64_t pos = 0;
    visit_rows(true, [&](int64_t, const int32_t* idx, const float* val, int64_t n) {
      if (int64_t(out.data.size() + size_t(n)) > budget / 8)
        check_alloc(file, m.node.path(), int64_t(out.data.size()) + n, 8, budget, "the selected matrix");
      append_row(out, idx, val, n);
      out.indptr[size_t(++pos)] = int64_t(out.data.size());
    });
    return out;
  }
  // Out of order or with repeated rows: sizes first, then scatter into place.
  RowTargets tg;
  tg.identity = false;
  check_alloc(file, m.node.path(), m.n_rows, 8, budget, "the row map");
  tg.head.assign(size_t(m.n_rows), -1);
  tg.next.assign(size_t(out_rows), -1);
  for (int64_t p = out_rows - 1; p >= 0; --p) {
    const int64_t r = (*o.rows)[size_t(p)];
    if (r < 0) continue;
    tg.next[size_t(p)] = tg.head[size_t(r)];
    tg.head[size_t(r)] = p;
  }
  if (!dense && !cm.active) {
    for (int64_t p = 0; p < out_rows; ++p) {
      const int64_t r = (*o.rows)[size_t(p)];
      out.indptr[size_t(p + 1)] = r < 0 ? 0 : indptr[size_t(r + 1)] - indptr[size_t(r)];
    }
  } else {
    visit_rows(dense, [&](int64_t r, const int32_t*, const float*, int64_t n) {
      tg.each(r, [&](int64_t p) { out.indptr[size_t(p + 1)] = n; });
    });
  }
  for (int64_t p = 0; p < out_rows; ++p) out.indptr[size_t(p + 1)] += out.indptr[size_t(p)];
  const int64_t total = out.indptr.back();
  check_alloc(file, m.node.path(), total, 8, budget, "the selected matrix");
  out.indices.resize(size_t(total));
  out.data.resize(size_t(total));
  visit_rows(true, [&](int64_t r, const int32_t* idx, const float* val, int64_t n) {
    tg.each(r, [&](int64_t p) {
      const int64_t s = out.indptr[size_t(p)];
      if (out.indptr[size_t(p + 1)] - s != n) m.node.fail("row " + std::to_string(r) + " changed size between reads");
      std::copy(idx, idx + n, out.indices.begin() + s);
      std::copy(val, val + n, out.data.begin() + s);
    });
  });
  return out;
}

MatrixScan scan_matrix_element(const MatrixElement& m, int64_t budget_bytes) {
  const int64_t budget = budget_bytes > 0 ? budget_bytes : default_memory_budget();
  MatrixScan s;
  bool first = true;
  auto see = [&](double v, int64_t row, int64_t col) {
    if (first) {
      s.min_value = s.max_value = v;
      first = false;
    }
    if (!std::isfinite(v)) {
      if (s.finite && s.first_problem.empty())
        s.first_problem = (std::isnan(v) ? "NaN" : "infinite value") + at(row, col);
      s.finite = false;
      return;
    }
    s.min_value = std::min(s.min_value, v);
    s.max_value = std::max(s.max_value, v);
    if (v < 0 && s.non_negative) {
      s.non_negative = false;
      if (s.first_problem.empty()) s.first_problem = "negative value " + format_number(v) + at(row, col);
    }
    if (v != std::floor(v) && s.integer) {
      s.integer = false;
      if (s.first_problem.empty()) s.first_problem = "non-integer value " + format_number(v) + at(row, col);
    }
  };
  if (m.storage == "csc") {
    const std::vector<int64_t> indptr = read_indptr(m, m.n_cols, budget);
    check_alloc(m.node.file(), m.node.path(), m.n_rows + m.n_cols, 8, budget, "the scan");
    std::vector<int64_t> cols(size_t(m.n_cols));
    std::iota(cols.begin(), cols.end(), 0);
    std::vector<uint8_t> row_has(size_t(m.n_rows), 0);
    VisitOpts vo;
    vo.with_values = true;
    vo.unsorted = &s.unsorted_majors;
    vo.budget = budget;
    visit_majors(m, indptr, cols, true, vo,
                 [&](int64_t c, const int32_t* ri, const float* v, int64_t n) {
                   s.stored += n;
                   for (int64_t q = 0; q < n; ++q) {
                     see(v[q], ri[q], c);
                     if (v[q] != 0) {
                       ++s.nonzero;
                       row_has[size_t(ri[q])] = 1;
                     }
                   }
                 });
    for (uint8_t h : row_has) s.all_zero_rows += h ? 0 : 1;
    return s;
  }
  check_alloc(m.node.file(), m.node.path(), m.n_rows, 8, budget, "the row list");
  std::vector<int64_t> rows(size_t(m.n_rows));
  std::iota(rows.begin(), rows.end(), 0);
  auto on_row = [&](int64_t r, const int32_t* idx, const float* v, int64_t n) {
    int64_t nz = 0;
    for (int64_t q = 0; q < n; ++q) {
      see(v[q], r, idx[q]);
      if (v[q] != 0) ++nz;
    }
    s.nonzero += nz;
    if (nz == 0) ++s.all_zero_rows;
  };
  if (m.storage == "dense") {
    // Dense rows arrive without zeros; NaN and negative values still pass through `see`.
    visit_dense_rows(m, rows, ColMap{}, nullptr, budget, on_row);
    s.stored = m.n_cols > 0 && m.n_rows > INT64_MAX / m.n_cols ? INT64_MAX : m.n_rows * m.n_cols;
    if (s.nonzero < s.stored && !first) s.min_value = std::min(s.min_value, 0.0);
  } else {
    const std::vector<int64_t> indptr = read_indptr(m, m.n_rows, budget);
    VisitOpts vo;
    vo.with_values = true;
    vo.unsorted = &s.unsorted_majors;
    vo.budget = budget;
    visit_majors(m, indptr, rows, false, vo, [&](int64_t r, const int32_t* idx, const float* v, int64_t n) {
      s.stored += n;
      on_row(r, idx, v, n);
    });
  }
  return s;
}

}  // namespace cuvi::io
