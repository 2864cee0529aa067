// Checks shared by readers, writers and callers: count summaries (all-zero cells are reported, not
// rejected), CSR structure checks for matrices handed to writers, and gene-list agreement (DESIGN.md §9).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "io/csr.h"

namespace cuvi::io {

struct CountsSummary {
  int64_t n_rows = 0, n_cols = 0, nnz = 0;
  int64_t all_zero_cells = 0;  // rows with no non-zero value: legal, callers may warn
  int64_t all_zero_genes = 0;  // columns with no non-zero value
  double max_value = 0;
  double total = 0;
};
CountsSummary summarize_counts(const CsrView& m);

// Stored values that are not whole numbers: how many, and the first in row-major order.
struct FractionalCounts {
  int64_t n = 0;
  int64_t first_row = -1, first_col = -1;
  double first_value = 0;
};
FractionalCounts find_fractional_counts(const CsrView& m);

// Whether a stored value may be a count: finite and non-negative and, unless allow_fractional, a whole
// number float32 holds exactly. count_value_problem says why not, at (row, col), in the words every
// reader uses ("negative count -1 at row 3, column 7; counts must be non-negative").
inline bool is_count_value(double v, bool allow_fractional) {
  if (!(v >= 0) || std::isinf(v)) return false;
  return allow_fractional || (v == std::floor(v) && double(float(v)) == v);
}
std::string count_value_problem(double v, int64_t row, int64_t col, bool allow_fractional);

// The structural problems every reader reports for a compressed matrix ("" when there is none): an indptr
// of the wrong length, not starting at 0, decreasing or not ending at nnz; a minor index (column of a CSR
// row, row of a CSC column) out of [0, n_minor) or repeated within its major.
std::string indptr_problem(const std::vector<int64_t>& indptr, int64_t n_major, int64_t nnz);
std::string index_out_of_range(bool csc, int64_t index, int64_t major, int64_t n_minor);
std::string duplicate_index(bool csc, int64_t index, int64_t major);

// Fails ("<what>: ...") unless indptr/indices/data are consistent: sizes, monotonic indptr,
// indices in range and strictly increasing within each row (any order when !sorted_rows: scanpy's
// obsp['distances'] keeps each row in neighbour order).
void check_csr(const CsrMatrix& m, const std::string& what, bool sorted_rows = true);

// Fails with the counts and the first differences when file_genes differs from model_genes
// (different genes, or the same genes in another order).
void check_same_genes(const std::vector<std::string>& model_genes, const std::vector<std::string>& file_genes,
                      const std::string& file);

}  // namespace cuvi::io
