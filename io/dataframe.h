// In-memory obs/var tables and their readers for every AnnData dataframe layout: tagged 0.2.0 groups,
// 0.7 groups with __categories references, and <= 0.6 compound datasets (file-formats.md §1.4, §1.6).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/h5_util.h"

namespace cuvi::io {

struct Categorical {
  std::vector<std::string> categories;
  std::vector<int32_t> codes;  // -1 = missing
  bool ordered = false;
};

enum class ColumnKind { Categorical, Numeric, Boolean, String };

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::Numeric;
  Categorical cat;              // Categorical
  std::vector<double> numeric;  // Numeric and Boolean: NaN = missing; booleans as 0/1
  std::vector<std::string> strings;  // String (missing = "")
  bool is_integer = false;      // Numeric: stored as an integer type (written back as int64)
  std::string dtype;            // as stored: "float32", "int64", "categorical", "nullable-integer", ...

  int64_t size() const;
  // Value i as text ("" for a missing value); numbers as format_number.
  std::string text(int64_t i) const;

  static Column categorical(std::string name, Categorical c);
  static Column numbers(std::string name, std::vector<double> v, bool is_integer = false);
  static Column booleans(std::string name, const std::vector<bool>& v);
  static Column texts(std::string name, std::vector<std::string> v);
  // Strings to a categorical with sorted unique categories (what anndata does on write).
  static Column categorical_from_strings(std::string name, const std::vector<std::string>& v);
};

struct DataFrame {
  std::vector<std::string> index;
  std::vector<Column> columns;
  std::string index_name = "_index";     // the member holding the row labels in the file
  std::vector<std::string> skipped;      // columns present but not representable ("name (reason)")

  int64_t n_rows() const { return int64_t(index.size()); }
  const Column* find(const std::string& name) const;
  // Fails with "column 'x' not found in <file> obs; columns: a, b" (what = "obs", "var", ...).
  const Column& require(const std::string& name, const std::string& file, const std::string& what = "obs") const;
  std::vector<std::string> column_names() const;
};

// Fails with "<file>: column 'x' not found in <what>; columns: a, b", the message of DataFrame::require,
// for callers that hold only the column names (an AnnData in memory).
[[noreturn]] void fail_missing_column(const std::string& name, const std::string& file, const std::string& what,
                                      const std::vector<std::string>& columns);

// Reads a dataframe element (group, any encoding generation). Column lengths are checked against the index.
DataFrame read_dataframe(const Node& node, int64_t budget);
// anndata <= 0.6: a compound dataset; categorical codes take their labels from uns/<col>_categories.
DataFrame read_compound_dataframe(const Node& ds, const Node* uns, int64_t budget);
// Reads one column element (dataset or group) of a dataframe group; false when unsupported (reason set).
bool read_column(const Node& element, const std::string& name, int64_t budget, Column* out, std::string* reason);

}  // namespace cuvi::io
