// Reads one matrix element (dense 2-d dataset, csr/csc group, h5sparse group) into CSR, in hyperslab
// blocks, with optional row/column subsets and full structural and count validation (file-formats.md §1.3, §4).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/csr.h"
#include "io/h5_util.h"

namespace cuvi::io {

struct ReadOptions {
  // Rows to read, in output order (duplicates allowed; -1 yields an empty row, e.g. a cell missing
  // from one modality). Absent: all rows.
  std::optional<std::vector<int64_t>> rows;
  // Columns to keep, in output order (no duplicates). Absent: all columns.
  std::optional<std::vector<int64_t>> cols;
  // Fail on negative, non-integer, NaN or infinite values (and values float32 cannot hold exactly).
  bool require_counts = true;
  // With require_counts: let finite non-negative fractional values through (Salmon/alevin, SoupX output).
  bool allow_fractional_counts = false;
  // Column indices out of order within a row are sorted on read (real CellRanger v3 and scanpy
  // 0.x files store them unsorted, and scipy accepts them); false makes them an error. Duplicates
  // are always an error.
  bool allow_unsorted_indices = true;
  int64_t memory_budget_bytes = 0;  // 0: default_memory_budget()
};

struct MatrixInfo {
  std::string path;     // relative to the AnnData group: "X", "layers/counts", "raw/X"
  int64_t n_rows = 0, n_cols = 0;
  int64_t nnz = -1;     // stored entries for sparse; -1 for dense (not stored)
  std::string storage;  // dense | csr | csc
  std::string dtype;    // of the values: float32, int64, ...
};

// An opened, header-checked matrix element.
struct MatrixElement {
  Node node;            // the dataset (dense) or group (sparse)
  std::string storage;  // dense | csr | csc
  int64_t n_rows = 0, n_cols = 0, nnz = -1;
  std::string dtype;
  Node data, indices, indptr;  // sparse only
};

// Opens and checks the header: shape attribute against dataset extents, member presence and types.
MatrixElement open_matrix_element(const Node& node);
// A 10x-style CSC of (features x barcodes) from explicit datasets: returned as CSR of barcodes x features.
MatrixElement make_csr_element(const Node& group, const Node& data, const Node& indices, const Node& indptr,
                               int64_t n_rows, int64_t n_cols);

CsrMatrix read_matrix_element(const MatrixElement& m, const ReadOptions& opts);

// A full validating pass that keeps nothing: structure is checked (errors thrown), values are summarised.
struct MatrixScan {
  int64_t stored = 0;         // entries stored (sparse) or cells of the array (dense)
  int64_t nonzero = 0;
  int64_t all_zero_rows = 0;
  int64_t unsorted_majors = 0;  // rows (CSR) or columns (CSC) whose indices are stored out of order
  bool finite = true, non_negative = true, integer = true;
  double min_value = 0, max_value = 0;
  std::string first_problem;  // e.g. "non-integer value 0.53 at row 0, column 4"
  bool looks_like_counts() const { return finite && non_negative && integer; }
};
MatrixScan scan_matrix_element(const MatrixElement& m, int64_t memory_budget_bytes = 0);

}  // namespace cuvi::io
