// Sample covariate tables: the value of an obs column per sample, checked constant within the sample.
#include "tools/workflow/sample_info.h"

#include <cmath>
#include <set>

#include "engine/error.h"

namespace cuvi::workflow {
namespace {

// Value identity of cell i in column c (numbers compare exactly, NaN equals NaN; categories by code).
bool same_value(const io::Column& c, int64_t a, int64_t b) {
  switch (c.kind) {
    case io::ColumnKind::Categorical: return c.cat.codes[size_t(a)] == c.cat.codes[size_t(b)];
    case io::ColumnKind::String: return c.strings[size_t(a)] == c.strings[size_t(b)];
    default: {
      const double x = c.numeric[size_t(a)], y = c.numeric[size_t(b)];
      return x == y || (std::isnan(x) && std::isnan(y));
    }
  }
}

// One column per sample; false (or a failure when `strict`) if it varies within a sample.
bool build_column(const PreparedData& p, const io::Column& c, const std::vector<int64_t>& first, bool strict,
                  SampleColumn* out) {
  const size_t S = first.size();
  for (size_t i = 0; i < p.sample.size(); ++i) {
    const int64_t f = first[size_t(p.sample[i])];
    if (same_value(c, f, int64_t(i))) continue;
    if (!strict) return false;
    fail(p.data.path + ": obs column '" + c.name + "' is not constant within sample '" +
         p.registry.sample_categories[size_t(p.sample[i])] + "' (values '" + c.text(f) + "' and '" +
         c.text(int64_t(i)) + "'); a sample covariate needs one value per sample");
  }
  out->name = c.name;
  out->numeric = c.kind == io::ColumnKind::Numeric || c.kind == io::ColumnKind::Boolean;
  out->text.assign(S, "");
  out->values.assign(S, NAN);
  std::set<int32_t> used;
  for (size_t s = 0; s < S; ++s) {
    if (first[s] < 0) continue;
    out->text[s] = c.text(first[s]);
    if (out->numeric) out->values[s] = c.numeric[size_t(first[s])];
    if (c.kind == io::ColumnKind::Categorical) used.insert(c.cat.codes[size_t(first[s])]);
  }
  if (c.kind == io::ColumnKind::Categorical) {
    for (size_t k = 0; k < c.cat.categories.size(); ++k)
      if (used.count(int32_t(k))) out->categories.push_back(c.cat.categories[k]);
  } else if (!out->numeric) {
    std::set<std::string> levels(out->text.begin(), out->text.end());
    levels.erase("");
    out->categories.assign(levels.begin(), levels.end());
  }
  return true;
}

}  // namespace

const SampleColumn* SampleTable::find(const std::string& name) const {
  for (const SampleColumn& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

SampleTable sample_table(const PreparedData& p, const std::vector<std::string>& keys) {
  CUVI_CHECK(!p.sample.empty(), p.data.path + ": no sample key is registered");
  const size_t S = p.registry.sample_categories.size();
  SampleTable t;
  t.samples = p.registry.sample_categories;
  t.n_cells.assign(S, 0);
  std::vector<int64_t> first(S, -1);
  for (size_t i = 0; i < p.sample.size(); ++i) {
    const size_t s = size_t(p.sample[i]);
    if (first[s] < 0) first[s] = int64_t(i);
    ++t.n_cells[s];
  }
  const io::DataFrame& obs = p.data.obs;
  if (keys.empty()) {
    for (const io::Column& c : obs.columns) {
      if (c.name == p.registry.keys.sample_key) continue;
      SampleColumn col;
      if (build_column(p, c, first, false, &col)) t.columns.push_back(std::move(col));
    }
    return t;
  }
  for (const std::string& k : keys) {
    const io::Column& c = obs.require(k, p.data.path, "obs");
    SampleColumn col;
    build_column(p, c, first, true, &col);
    t.columns.push_back(std::move(col));
  }
  return t;
}

}  // namespace cuvi::workflow
