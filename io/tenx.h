// 10x Genomics CellRanger .h5 reader: v2 (one group per genome) and v3+/ARC (/matrix + features), fixed-length
// strings, any integer dtypes; the stored CSC of features x barcodes is read as CSR of cells x features (file-formats.md §2).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/csr.h"
#include "io/dataframe.h"
#include "io/h5_util.h"
#include "io/matrix_reader.h"

namespace cuvi::io {

struct TenxOptions {
  std::string genome;        // required for v2 files with several genomes; a feature filter for v3
  std::string feature_type;  // e.g. "Gene Expression", "Peaks"; default: Gene Expression when several types
  std::optional<std::vector<int64_t>> rows;  // barcode subset (see ReadOptions::rows)
  bool require_counts = true;
  int64_t memory_budget_bytes = 0;
};

struct TenxData {
  CsrMatrix counts;  // (barcodes, selected features)
  DataFrame obs;     // index: barcodes
  DataFrame var;     // index: feature ids; columns gene_symbols, feature_types, genome (+ interval, ...)
  int version = 3;   // 2: per-genome groups; 3: /matrix
  std::string genome;
  std::string feature_type;        // the selection ("" = all)
  std::vector<std::string> notes;  // choices made on the caller's behalf
};

struct TenxGenomeInfo {
  std::string group;  // HDF5 group: "/matrix" or "/<genome>"
  std::string genome;
  int64_t n_barcodes = 0, n_features = 0, nnz = 0;
  std::string dtype;
  std::vector<std::pair<std::string, int64_t>> feature_types;  // type, count (order of appearance)
  std::vector<std::pair<std::string, int64_t>> genomes;        // v3: features/genome values, count
};

struct TenxSummary {
  int version = 3;
  std::vector<TenxGenomeInfo> groups;  // v2: one per genome group; v3: one (/matrix)
  std::string chemistry;               // root attribute chemistry_description when stored
};

// True when the root looks like a CellRanger matrix file (either generation).
bool is_10x_h5(const Node& root);
TenxSummary describe_10x_h5(const std::string& path);
TenxData read_10x_h5(const std::string& path, const TenxOptions& opts = {});
// The validated matrix element of one genome group (for structural scans).
MatrixElement open_10x_matrix(const std::string& path, const std::string& genome = "");

}  // namespace cuvi::io
