// The host CSR count matrix every reader returns (cells x features, float32 values kept exact,
// int64 indptr, int32 column indices sorted within each row), as in file-formats.md §1.3 and §4.3.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/csr_view.h"

namespace cuvi::io {

struct CsrMatrix {
  int64_t n_rows = 0, n_cols = 0;
  std::vector<int64_t> indptr;  // (n_rows + 1)
  std::vector<int32_t> indices;  // (nnz,) column of each stored value
  std::vector<float> data;       // (nnz,)

  int64_t nnz() const { return int64_t(data.size()); }
  operator CsrView() const { return CsrView{indptr.data(), indices.data(), data.data(), n_rows, n_cols}; }
};

}  // namespace cuvi::io
