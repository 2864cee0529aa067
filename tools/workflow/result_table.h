// ResultTable: a small column table for analysis results (DE tables, per-cell fit values) written
// as CSV the way pandas' to_csv writes a DataFrame, or converted to an io::DataFrame for .h5ad uns.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/dataframe.h"

namespace cuvi::workflow {

struct ResultColumn {
  enum Kind { F32, F64, Bool, Text };
  std::string name;
  Kind kind = F64;
  std::vector<double> num;        // F32, F64, Bool (0/1)
  std::vector<std::string> text;  // Text
  int64_t size() const { return kind == Text ? int64_t(text.size()) : int64_t(num.size()); }
};

struct ResultTable {
  std::string index_name;          // header of the index column ("" like an unnamed pandas index)
  std::vector<std::string> index;  // row labels (may repeat)
  std::vector<ResultColumn> columns;

  int64_t n_rows() const { return int64_t(index.size()); }
  const ResultColumn* find(const std::string& name) const;
  const ResultColumn& at(const std::string& name) const;  // fail() naming the column
  ResultColumn& add(const std::string& name, ResultColumn::Kind kind);
  // Rows in `order` (a permutation or selection of row indices).
  ResultTable take(const std::vector<int64_t>& order) const;
  // Appends the rows of `t`, which must have the same columns in the same order.
  void append(const ResultTable& t);
};

// Python's repr of a float (shortest round-trip digits; exponent form below 1e-4 and from 1e16;
// "1.0" for integral values); as_float32 uses the shortest digits of the float32 value, as numpy.
std::string python_float_repr(double v, bool as_float32 = false);

// CSV with pandas' conventions: index column first, fields quoted when they hold a comma, quote or
// newline, True/False for booleans, empty field for NaN. Written to a temporary file, then renamed.
void write_csv(const ResultTable& t, const std::string& path);
std::string to_csv(const ResultTable& t);

io::DataFrame to_dataframe(const ResultTable& t);

}  // namespace cuvi::workflow
