// obs/var dataframe readers for the tagged, 0.7 and <= 0.6 layouts (see dataframe.h).
// Implements file-formats.md §1.4 (columns, nullable groups, enum booleans, _index) and §1.6 (legacy layouts).
#include "io/dataframe.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "engine/error.h"

namespace cuvi::io {

// ---- Column ---------------------------------------------------------------------------------

int64_t Column::size() const {
  switch (kind) {
    case ColumnKind::Categorical: return int64_t(cat.codes.size());
    case ColumnKind::String: return int64_t(strings.size());
    default: return int64_t(numeric.size());
  }
}

std::string Column::text(int64_t i) const {
  switch (kind) {
    case ColumnKind::Categorical: {
      const int32_t c = cat.codes.at(size_t(i));
      return c < 0 ? "" : cat.categories.at(size_t(c));
    }
    case ColumnKind::String: return strings.at(size_t(i));
    case ColumnKind::Boolean: {
      const double v = numeric.at(size_t(i));
      return std::isnan(v) ? "" : (v != 0 ? "True" : "False");
    }
    default: {
      const double v = numeric.at(size_t(i));
      return std::isnan(v) ? "" : format_number(v);
    }
  }
}

Column Column::categorical(std::string name, Categorical c) {
  Column col;
  col.name = std::move(name);
  col.kind = ColumnKind::Categorical;
  col.cat = std::move(c);
  col.dtype = "categorical";
  return col;
}

Column Column::numbers(std::string name, std::vector<double> v, bool is_integer) {
  Column col;
  col.name = std::move(name);
  col.kind = ColumnKind::Numeric;
  col.numeric = std::move(v);
  col.is_integer = is_integer;
  col.dtype = is_integer ? "int64" : "float64";
  return col;
}

Column Column::booleans(std::string name, const std::vector<bool>& v) {
  Column col;
  col.name = std::move(name);
  col.kind = ColumnKind::Boolean;
  col.numeric.reserve(v.size());
  for (bool b : v) col.numeric.push_back(b ? 1.0 : 0.0);
  col.dtype = "bool";
  return col;
}

Column Column::texts(std::string name, std::vector<std::string> v) {
  Column col;
  col.name = std::move(name);
  col.kind = ColumnKind::String;
  col.strings = std::move(v);
  col.dtype = "string";
  return col;
}

Column Column::categorical_from_strings(std::string name, const std::vector<std::string>& v) {
  Categorical c;
  std::set<std::string> uniq(v.begin(), v.end());
  c.categories.assign(uniq.begin(), uniq.end());
  std::map<std::string, int32_t> code;
  for (size_t i = 0; i < c.categories.size(); ++i) code[c.categories[i]] = int32_t(i);
  c.codes.reserve(v.size());
  for (const auto& s : v) c.codes.push_back(code[s]);
  return categorical(std::move(name), std::move(c));
}

// ---- DataFrame ------------------------------------------------------------------------------

const Column* DataFrame::find(const std::string& name) const {
  for (const Column& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<std::string> DataFrame::column_names() const {
  std::vector<std::string> out;
  for (const Column& c : columns) out.push_back(c.name);
  return out;
}

const Column& DataFrame::require(const std::string& name, const std::string& file, const std::string& what) const {
  if (const Column* c = find(name)) return *c;
  fail_missing_column(name, file, what, column_names());
}

void fail_missing_column(const std::string& name, const std::string& file, const std::string& what,
                         const std::vector<std::string>& columns) {
  std::string list;
  for (size_t i = 0; i < columns.size(); ++i) list += (i ? ", " : "") + columns[i];
  fail(file + ": column '" + name + "' not found in " + what + "; columns: " + (list.empty() ? "(none)" : list));
}

// ---- readers --------------------------------------------------------------------------------

namespace {

Categorical read_categorical(const Node& codes_node, const Node& cats_node, int64_t budget) {
  Categorical c;
  c.categories = read_strings(cats_node, budget);
  const auto codes = read_ints(codes_node, budget);
  const int64_t ncat = int64_t(c.categories.size());
  c.codes.resize(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] < -1 || codes[i] >= ncat)
      codes_node.fail("categorical code " + std::to_string(codes[i]) + " at row " + std::to_string(i) +
                      " is out of range (" + std::to_string(ncat) + " categories)");
    c.codes[i] = int32_t(codes[i]);
  }
  return c;
}

std::vector<int64_t> read_mask(const Node& group, int64_t n, int64_t budget) {
  const Node m = group.open("mask");
  if (m.length() != n) m.fail("mask has " + std::to_string(m.length()) + " entries but values has " + std::to_string(n));
  return read_ints(m, budget);
}

// Rows a column element claims, from extents only (-1 when its layout is not recognised); checked
// before any data is read, so a column that cannot match the index costs nothing.
int64_t column_length(const Node& el) {
  if (el.is_dataset()) {
    const auto d = el.dims();
    return d.size() == 1 ? d[0] : -1;
  }
  for (const char* part : {"codes", "values"})
    if (el.has(part)) {
      const Node p = el.open(part);
      if (p.is_dataset() && p.dims().size() == 1) return p.length();
    }
  return -1;
}

std::vector<std::string> read_index(const Node& el, int64_t budget) {
  if (el.is_dataset()) return read_strings(el, budget);
  const std::string enc = el.encoding_type();
  if (enc == "nullable-string-array" || (enc.empty() && el.has("values") && el.has("mask"))) {
    auto v = read_strings(el.open("values"), budget);
    const auto mask = read_mask(el, int64_t(v.size()), budget);
    for (size_t i = 0; i < v.size(); ++i)
      if (mask[i]) v[i] = "";
    return v;
  }
  if (enc == "categorical") {
    const Categorical c = read_categorical(el.open("codes"), el.open("categories"), budget);
    std::vector<std::string> v;
    for (int32_t k : c.codes) v.push_back(k < 0 ? "" : c.categories[size_t(k)]);
    return v;
  }
  el.fail("the dataframe index has an unsupported encoding '" + enc + "'");
}

}  // namespace

bool read_column(const Node& el, const std::string& name, int64_t budget, Column* out, std::string* reason) {
  Column col;
  col.name = name;
  if (el.is_group()) {
    const std::string enc = el.encoding_type();
    if (enc == "categorical" || (enc.empty() && el.has("codes") && el.has("categories"))) {
      col = Column::categorical(name, read_categorical(el.open("codes"), el.open("categories"), budget));
      col.cat.ordered = el.attr_bool("ordered").value_or(false);
    } else if (enc == "nullable-integer" || enc == "nullable-boolean") {
      const Node values = el.open("values");
      col.numeric = read_doubles(values, budget);
      const auto mask = read_mask(el, int64_t(col.numeric.size()), budget);
      for (size_t i = 0; i < mask.size(); ++i)
        if (mask[i]) col.numeric[i] = std::nan("");
      if (enc == "nullable-integer") {
        col.kind = ColumnKind::Numeric;
        col.is_integer = true;
      } else {
        col.kind = ColumnKind::Boolean;
        for (double& v : col.numeric)
          if (!std::isnan(v)) v = v != 0 ? 1.0 : 0.0;
      }
      col.dtype = enc;
    } else if (enc == "nullable-string-array") {
      col = Column::texts(name, read_index(el, budget));
      col.dtype = enc;
    } else {
      *reason = "encoding '" + (enc.empty() ? std::string("(none)") : enc) + "' is not a supported column type";
      return false;
    }
    *out = std::move(col);
    return true;
  }
  // Dataset: anndata 0.7 categorical codes carry an object reference to their categories.
  if (el.has_attr("categories")) {
    const auto cats = el.attr_reference("categories");
    col = Column::categorical(name, read_categorical(el, *cats, budget));
    col.cat.ordered = cats->attr_bool("ordered").value_or(false);
    *out = std::move(col);
    return true;
  }
  const auto d = el.dims();
  if (d.size() != 1) {
    *reason = std::to_string(d.size()) + "-d array";
    return false;
  }
  const std::string dtype = el.dtype_name();
  switch (el.type_class()) {
    case H5T_STRING:
      col = Column::texts(name, read_strings(el, budget));
      break;
    case H5T_ENUM:
      col.numeric = read_doubles(el, budget);
      col.kind = dtype == "bool" ? ColumnKind::Boolean : ColumnKind::Numeric;
      col.is_integer = col.kind == ColumnKind::Numeric;
      break;
    case H5T_INTEGER:
      col.numeric = read_doubles(el, budget);
      col.kind = ColumnKind::Numeric;
      col.is_integer = true;
      break;
    case H5T_FLOAT:
      col.numeric = read_doubles(el, budget);
      col.kind = ColumnKind::Numeric;
      break;
    default:
      *reason = "unsupported type " + dtype;
      return false;
  }
  col.dtype = dtype;
  *out = std::move(col);
  return true;
}

DataFrame read_dataframe(const Node& node, int64_t budget) {
  if (node.is_dataset()) {
    if (node.type_class() == H5T_COMPOUND) return read_compound_dataframe(node, nullptr, budget);
    node.fail("expected a dataframe group, found a " + node.dtype_name() + " dataset");
  }
  DataFrame df;
  if (auto idx = node.attr_string("_index")) {
    df.index_name = *idx;
  } else if (node.has("_index")) {
    df.index_name = "_index";
  } else if (node.has("index")) {
    df.index_name = "index";
  } else {
    node.fail("dataframe has no '_index' attribute and no '_index' member");
  }
  if (!node.has(df.index_name))
    node.fail("the '_index' attribute names '" + df.index_name + "', which is not a member");
  const Node index_el = node.open(df.index_name);
  df.index = read_index(index_el, budget);
  const int64_t n = df.n_rows();

  std::vector<std::string> order;
  if (node.has_attr("column-order")) {
    order = node.attr_strings("column-order");
  } else {
    for (const auto& m : node.members())
      if (m != df.index_name && m != "__categories") order.push_back(m);
  }
  std::set<std::string> seen;
  for (const std::string& name : order) {
    if (name == df.index_name || !seen.insert(name).second) continue;
    if (!node.has(name)) node.fail("column '" + name + "' is listed in column-order but missing");
    Column col;
    std::string reason;
    const Node el = node.open(name);
    const int64_t claimed = column_length(el);
    if (claimed >= 0 && claimed != n)
      el.fail("column has " + std::to_string(claimed) + " values but the index has " + std::to_string(n));
    if (!read_column(el, name, budget, &col, &reason)) {
      df.skipped.push_back(name + " (" + reason + ")");
      continue;
    }
    if (col.size() != n)
      el.fail("column has " + std::to_string(col.size()) + " values but the index has " + std::to_string(n));
    df.columns.push_back(std::move(col));
  }
  return df;
}

DataFrame read_compound_dataframe(const Node& ds, const Node* uns, int64_t budget) {
  DataFrame df;
  const auto members = compound_members(ds);
  const int64_t n = ds.length();
  std::string index_member;
  for (const char* cand : {"index", "_index"})
    if (std::find(members.begin(), members.end(), cand) != members.end()) {
      index_member = cand;
      break;
    }
  df.index_name = index_member.empty() ? "index" : index_member;
  if (!index_member.empty()) {
    df.index = read_compound_strings(ds, index_member, budget);
  } else {
    check_alloc(ds.file(), ds.path(), n, 64, budget, "the index");
    for (int64_t i = 0; i < n; ++i) df.index.push_back(std::to_string(i));
  }
  for (const std::string& m : members) {
    if (m == index_member) continue;
    Column col;
    col.name = m;
    const H5T_class_t cls = compound_member_class(ds, m);
    if (cls == H5T_STRING) {
      col = Column::texts(m, read_compound_strings(ds, m, budget));
    } else if (cls == H5T_INTEGER && uns && uns->has(m + "_categories")) {
      Categorical c;
      c.categories = read_strings(uns->open(m + "_categories"), budget);
      const auto codes = read_compound_doubles(ds, m, budget);
      for (size_t i = 0; i < codes.size(); ++i) {
        if (codes[i] < -1 || codes[i] >= double(c.categories.size()))
          ds.fail("member '" + m + "': categorical code " + format_number(codes[i]) + " at row " +
                  std::to_string(i) + " is out of range (" + std::to_string(c.categories.size()) + " categories)");
        c.codes.push_back(int32_t(codes[i]));
      }
      col = Column::categorical(m, std::move(c));
    } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
      col = Column::numbers(m, read_compound_doubles(ds, m, budget), cls == H5T_INTEGER);
    } else if (cls == H5T_ENUM) {
      col.kind = ColumnKind::Boolean;
      col.numeric = read_compound_doubles(ds, m, budget);
      col.dtype = "bool";
    } else {
      df.skipped.push_back(m + " (compound member of unsupported type)");
      continue;
    }
    df.columns.push_back(std::move(col));
  }
  return df;
}

}  // namespace cuvi::io
