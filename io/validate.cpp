// Count summaries, CSR structure checks and gene-list comparison (see validate.h; DESIGN.md §9).
#include "io/validate.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "engine/error.h"
#include "io/h5_util.h"

namespace cuvi::io {

CountsSummary summarize_counts(const CsrView& m) {
  CountsSummary s;
  s.n_rows = m.n_rows;
  s.n_cols = m.n_cols;
  s.nnz = m.nnz();
  std::vector<uint8_t> gene_seen(size_t(std::max<int64_t>(m.n_cols, 0)), 0);
  for (int64_t r = 0; r < m.n_rows; ++r) {
    bool any = false;
    for (int64_t q = m.indptr[size_t(r)]; q < m.indptr[size_t(r + 1)]; ++q) {
      const float v = m.data[size_t(q)];
      if (v == 0) continue;
      any = true;
      gene_seen[size_t(m.indices[size_t(q)])] = 1;
      s.total += v;
      s.max_value = std::max(s.max_value, double(v));
    }
    if (!any) ++s.all_zero_cells;
  }
  for (uint8_t g : gene_seen) s.all_zero_genes += g ? 0 : 1;
  return s;
}

FractionalCounts find_fractional_counts(const CsrView& m) {
  FractionalCounts f;
  for (int64_t r = 0; r < m.n_rows; ++r)
    for (int64_t q = m.indptr[size_t(r)]; q < m.indptr[size_t(r + 1)]; ++q) {
      const float v = m.data[size_t(q)];
      if (v == std::floor(v)) continue;
      if (f.n++ == 0) {
        f.first_row = r;
        f.first_col = m.indices[size_t(q)];
        f.first_value = v;
      }
    }
  return f;
}

std::string count_value_problem(double v, int64_t row, int64_t col, bool allow_fractional) {
  const std::string at = " at row " + std::to_string(row) + ", column " + std::to_string(col);
  if (std::isnan(v)) return "NaN" + at + "; counts must be finite non-negative integers";
  if (std::isinf(v)) return "infinite value" + at + "; counts must be finite non-negative integers";
  if (v < 0) return "negative count " + format_number(v) + at + "; counts must be non-negative";
  if (allow_fractional) return "";
  if (v != std::floor(v))
    return "non-integer count " + format_number(v) + at +
           "; the matrix looks normalised or log-transformed, use the raw counts (e.g. layers/counts or raw/X)";
  if (double(float(v)) != v) return "count " + format_number(v) + at + " cannot be held exactly in float32";
  return "";
}

std::string indptr_problem(const std::vector<int64_t>& p, int64_t n_major, int64_t nnz) {
  if (int64_t(p.size()) != n_major + 1)
    return "has " + std::to_string(p.size()) + " entries, expected " + std::to_string(n_major + 1);
  if (p[0] != 0) return "indptr[0] is " + std::to_string(p[0]) + ", expected 0";
  for (int64_t i = 0; i < n_major; ++i)
    if (p[size_t(i + 1)] < p[size_t(i)])
      return "not monotonic: indptr[" + std::to_string(i) + "] = " + std::to_string(p[size_t(i)]) + " > indptr[" +
             std::to_string(i + 1) + "] = " + std::to_string(p[size_t(i + 1)]);
  if (p.back() != nnz)
    return "ends at " + std::to_string(p.back()) + " but data has " + std::to_string(nnz) +
           " entries (the last indptr must equal nnz)";
  return "";
}

std::string index_out_of_range(bool csc, int64_t index, int64_t major, int64_t n_minor) {
  return std::string(csc ? "row index " : "column index ") + std::to_string(index) + " in " + (csc ? "column " : "row ") +
         std::to_string(major) + " is out of range [0, " + std::to_string(n_minor) + ")";
}

std::string duplicate_index(bool csc, int64_t index, int64_t major) {
  return std::string("duplicate ") + (csc ? "row index " : "column index ") + std::to_string(index) + " in " +
         (csc ? "column " : "row ") + std::to_string(major);
}

void check_csr(const CsrMatrix& m, const std::string& what, bool sorted_rows) {
  if (m.n_rows < 0 || m.n_cols < 0) fail(what + ": negative shape");
  if (int64_t(m.indptr.size()) != m.n_rows + 1)
    fail(what + ": indptr has " + std::to_string(m.indptr.size()) + " entries, expected " + std::to_string(m.n_rows + 1));
  if (m.indices.size() != m.data.size())
    fail(what + ": data has " + std::to_string(m.data.size()) + " entries but indices has " + std::to_string(m.indices.size()));
  if (m.indptr[0] != 0) fail(what + ": indptr[0] is " + std::to_string(m.indptr[0]) + ", expected 0");
  if (m.indptr.back() != m.nnz())
    fail(what + ": indptr ends at " + std::to_string(m.indptr.back()) + " but there are " + std::to_string(m.nnz()) + " values");
  for (int64_t r = 0; r < m.n_rows; ++r) {
    const int64_t s = m.indptr[size_t(r)], e = m.indptr[size_t(r + 1)];
    if (e < s) fail(what + ": indptr is not monotonic at row " + std::to_string(r));
    for (int64_t q = s; q < e; ++q) {
      const int32_t c = m.indices[size_t(q)];
      if (c < 0 || c >= m.n_cols)
        fail(what + ": column index " + std::to_string(c) + " in row " + std::to_string(r) + " is out of range [0, " +
             std::to_string(m.n_cols) + ")");
      if (sorted_rows && q > s && c <= m.indices[size_t(q - 1)])
        fail(what + ": column indices not strictly increasing within row " + std::to_string(r));
    }
  }
}

void check_same_genes(const std::vector<std::string>& model_genes, const std::vector<std::string>& file_genes,
                      const std::string& file) {
  if (model_genes == file_genes) return;
  const std::unordered_set<std::string> in_model(model_genes.begin(), model_genes.end());
  const std::unordered_set<std::string> in_file(file_genes.begin(), file_genes.end());
  std::vector<std::string> missing, extra;
  for (const auto& g : model_genes)
    if (!in_file.count(g)) missing.push_back(g);
  for (const auto& g : file_genes)
    if (!in_model.count(g)) extra.push_back(g);
  size_t first = 0;
  while (first < model_genes.size() && first < file_genes.size() && model_genes[first] == file_genes[first]) ++first;
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 5; ++i) s += (i ? ", " : "") + v[i];
    if (v.size() > 5) s += " (+" + std::to_string(v.size() - 5) + " more)";
    return s;
  };
  std::string where = "first difference at position " + std::to_string(first) + ": model '" +
                      (first < model_genes.size() ? model_genes[first] : std::string("(end)")) + "', file '" +
                      (first < file_genes.size() ? file_genes[first] : std::string("(end)")) + "'";
  if (missing.empty() && extra.empty() && model_genes.size() == file_genes.size())
    fail(file + ": the file has the model's " + std::to_string(model_genes.size()) +
         " genes in a different order (" + where + "); reorder its genes to the model's");
  const size_t common = model_genes.size() - missing.size();
  std::string msg = file + ": genes do not match the model: model has " + std::to_string(model_genes.size()) +
                    ", file has " + std::to_string(file_genes.size()) + ", " + std::to_string(common) + " in common; " + where;
  if (!missing.empty()) msg += "; missing from the file: " + list(missing);
  if (!extra.empty()) msg += "; not in the model: " + list(extra);
  fail(msg);
}

}  // namespace cuvi::io
