// Row subsets of counts, obs tables and whole data sets.
#include "tools/workflow/subset.h"

#include "engine/error.h"
#include "io/validate.h"

namespace cuvi::workflow {

// The rows `rows` of an obs table, in that order.
io::DataFrame take_rows(const io::DataFrame& df, const std::vector<int32_t>& rows) {
  io::DataFrame out;
  out.index_name = df.index_name;
  for (int32_t r : rows) out.index.push_back(df.index[size_t(r)]);
  for (const io::Column& c : df.columns) {
    io::Column t = c;
    t.cat.codes.clear();
    t.numeric.clear();
    t.strings.clear();
    for (int32_t r : rows) {
      if (!c.cat.codes.empty()) t.cat.codes.push_back(c.cat.codes[size_t(r)]);
      if (!c.numeric.empty()) t.numeric.push_back(c.numeric[size_t(r)]);
      if (!c.strings.empty()) t.strings.push_back(c.strings[size_t(r)]);
    }
    out.columns.push_back(std::move(t));
  }
  return out;
}

io::CsrMatrix take_rows(const io::CsrMatrix& m, const std::vector<int32_t>& rows) {
  io::CsrMatrix out;
  out.n_rows = int64_t(rows.size());
  out.n_cols = m.n_cols;
  out.indptr.push_back(0);
  for (int32_t r : rows) {
    out.indices.insert(out.indices.end(), m.indices.begin() + m.indptr[r], m.indices.begin() + m.indptr[r + 1]);
    out.data.insert(out.data.end(), m.data.begin() + m.indptr[r], m.data.begin() + m.indptr[r + 1]);
    out.indptr.push_back(int64_t(out.data.size()));
  }
  return out;
}

io::Dataset take_rows(const io::Dataset& d, const std::vector<int32_t>& rows) {
  for (int32_t r : rows)
    CUVI_CHECK(r >= 0 && r < d.counts.n_rows, "cell " + std::to_string(r) + " is out of range (" +
                                                  std::to_string(d.counts.n_rows) + " cells)");
  io::Dataset s;
  s.path = d.path;
  s.format = d.format;
  s.source = d.source;
  s.counts = take_rows(d.counts, rows);
  s.obs = take_rows(d.obs, rows);
  s.var = d.var;
  s.summary = io::summarize_counts(s.counts);
  s.warnings = d.warnings;
  return s;
}

}  // namespace cuvi::workflow
