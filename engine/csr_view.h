// CsrView: a borrowed host CSR count matrix (cells x genes), the form the device loader uploads and the
// validators read; io::CsrMatrix (owning, from files) and in-memory arrays (the Python package) both give one.
#pragma once
#include <cstdint>

namespace cuvi {

struct CsrView {
  const int64_t* indptr = nullptr;  // (n_rows + 1)
  const int32_t* indices = nullptr; // (nnz)
  const float* data = nullptr;      // (nnz)
  int64_t n_rows = 0, n_cols = 0;
  int64_t nnz() const { return n_rows ? indptr[n_rows] : 0; }
};

}  // namespace cuvi
