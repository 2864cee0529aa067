// Counts handed over in memory (a scipy CSR/CSC matrix or a dense numpy array of any real or integer dtype)
// as a validated CSR, with the file readers' checks and messages; float32 values with int32 indices in
// sorted rows are borrowed as they are, anything else becomes an owned copy.
#pragma once
#include <nanobind/ndarray.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/csr.h"

namespace cuvi::python {

struct MemoryCounts {
  std::string where, element;  // names in messages: "AnnData object", "layers/counts"
  bool allow_fractional = true;
};

struct CountsResult {
  bool borrowed = false;       // the caller's data and indices arrays are used as they are
  std::vector<int64_t> indptr;  // (R + 1) when borrowed (the caller's indptr, as int64)
  io::CsrMatrix owned;         // otherwise
};

// storage "csr" or "csc": values, indices, indptr are scipy's arrays; "dense": values is the 2-d array.
using InArray = nanobind::ndarray<nanobind::ro>;  // any dtype, read-only arrays accepted
CountsResult read_counts(const MemoryCounts& src, const std::string& storage, const InArray& values,
                         const InArray* indices, const InArray* indptr, int64_t n_rows, int64_t n_cols);

}  // namespace cuvi::python
