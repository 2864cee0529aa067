// AnnDataFile: layout detection, obs/var, X/layers/raw lookup with shape checks, obsm (see anndata.h).
// Implements file-formats.md §1.2-§1.6: dispatch on encoding-type, then compound obs (<= 0.6), else 0.7 groups.
#include "io/anndata.h"

#include <algorithm>

#include "engine/error.h"

namespace cuvi::io {

namespace {

std::string join(const std::vector<std::string>& v, size_t max_items = 30) {
  if (v.empty()) return "(none)";
  std::string s;
  for (size_t i = 0; i < v.size() && i < max_items; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > max_items) s += ", ... (" + std::to_string(v.size()) + " in all)";
  return s;
}

std::string shape_str(int64_t a, int64_t b) { return "(" + std::to_string(a) + ", " + std::to_string(b) + ")"; }

}  // namespace

int64_t dataframe_length(const Node& node) {
  if (node.is_dataset()) return node.length();
  std::string name = node.attr_string("_index").value_or("");
  if (name.empty()) name = node.has("_index") ? "_index" : "index";
  const Node el = node.open(name);
  if (el.is_dataset()) return el.length();
  if (el.has("values")) return el.open("values").length();
  if (el.has("codes")) return el.open("codes").length();
  el.fail("the dataframe index has an unsupported layout");
}

AnnDataFile AnnDataFile::open(const std::string& path, int64_t memory_budget_bytes) {
  return open_group(Node::root(H5File::open_read(path)), memory_budget_bytes);
}

AnnDataFile AnnDataFile::open_group(const Node& group, int64_t memory_budget_bytes) {
  AnnDataFile a;
  a.m_root = group;
  a.m_budget = memory_budget_bytes > 0 ? memory_budget_bytes : default_memory_budget();
  const std::string enc = group.encoding_type();
  if (!group.has("obs") || !group.has("var")) {
    const std::string what = group.path() == "/" ? "the file" : group.path();
    fail(a.where() + ": not an AnnData group: " + what + " has no " + (group.has("obs") ? "var" : "obs") +
         " (members: " + join(group.members()) + ")");
  }
  const Node obs = group.open("obs"), var = group.open("var");
  if (enc == "anndata") {
    a.m_layout = AnnDataLayout::Tagged;
  } else if (obs.is_dataset()) {
    a.m_layout = AnnDataLayout::Legacy06;
  } else {
    a.m_layout = AnnDataLayout::Legacy07;
  }
  if (a.m_layout == AnnDataLayout::Legacy06 || obs.is_dataset() || var.is_dataset()) {
    const std::optional<Node> uns = group.open_if("uns");
    const Node* u = uns && uns->is_group() ? &*uns : nullptr;
    a.m_obs = obs.is_dataset() ? read_compound_dataframe(obs, u, a.m_budget) : read_dataframe(obs, a.m_budget);
    a.m_var = var.is_dataset() ? read_compound_dataframe(var, u, a.m_budget) : read_dataframe(var, a.m_budget);
  } else {
    a.m_obs = read_dataframe(obs, a.m_budget);
    a.m_var = read_dataframe(var, a.m_budget);
  }
  if (a.has_x()) {
    std::string rel;
    a.checked_element("X", &rel);  // shape against obs/var
  }
  return a;
}

std::string AnnDataFile::where() const {
  return m_root.path() == "/" ? m_root.file() : m_root.file() + ":" + m_root.path();
}

std::string AnnDataFile::layout_name() const {
  switch (m_layout) {
    case AnnDataLayout::Tagged: return "anndata >= 0.8 (tagged encoding)";
    case AnnDataLayout::Legacy07: return "anndata 0.7 (untagged dataframe groups)";
    default: return "anndata <= 0.6 (compound obs/var)";
  }
}

std::string AnnDataFile::encoding_version() const { return m_root.attr_string("encoding-version").value_or(""); }

std::string AnnDataFile::encoder() const {
  const auto e = m_root.attr_string("encoder");
  if (!e) return "";
  return *e + " " + m_root.attr_string("encoder-version").value_or("");
}

bool AnnDataFile::has_x() const { return m_root.has("X"); }

std::vector<std::string> AnnDataFile::layers() const {
  const auto g = m_root.open_if("layers");
  if (!g || !g->is_group()) return {};
  return g->members();
}

bool AnnDataFile::has_raw() const { return m_root.has("raw/X") || m_root.has("raw.X"); }

DataFrame AnnDataFile::raw_var() const {
  if (m_root.has("raw/var")) return read_dataframe(m_root.open("raw/var"), m_budget);
  if (m_root.has("raw.var")) {
    const auto uns = m_root.open_if("uns");
    const Node* u = uns && uns->is_group() ? &*uns : nullptr;
    const Node rv = m_root.open("raw.var");
    return rv.is_dataset() ? read_compound_dataframe(rv, u, m_budget) : read_dataframe(rv, m_budget);
  }
  if (has_raw()) return m_var;  // raw without its own var keeps var's genes
  fail(where() + ": the file has no raw");
}

std::vector<std::string> AnnDataFile::obsm_keys() const {
  const auto g = m_root.open_if("obsm");
  if (!g) return {};
  if (g->is_dataset()) return g->type_class() == H5T_COMPOUND ? compound_members(*g) : std::vector<std::string>{};
  return g->members();
}

std::vector<ObsmInfo> AnnDataFile::obsm_info() const {
  std::vector<ObsmInfo> out;
  const auto g = m_root.open_if("obsm");
  if (!g) return out;
  if (g->is_dataset()) {
    for (const auto& k : obsm_keys()) {
      ObsmInfo i;
      i.name = k;
      i.kind = "dense";
      i.n_rows = g->length();
      i.n_cols = compound_member_width(*g, k);
      i.dtype = "float32";
      out.push_back(i);
    }
    return out;
  }
  for (const auto& k : g->members()) {
    ObsmInfo i;
    i.name = k;
    const Node el = g->open(k);
    if (el.is_dataset()) {
      const auto d = el.dims();
      i.kind = el.is_numeric() && (d.size() == 1 || d.size() == 2) ? "dense" : "other";
      i.n_rows = d.empty() ? 0 : d[0];
      i.n_cols = d.size() >= 2 ? d[1] : 1;
      i.dtype = el.dtype_name();
    } else {
      const std::string enc = el.encoding_type();
      if (enc == "csr_matrix" || enc == "csc_matrix" || el.has_attr("h5sparse_format")) {
        const MatrixElement m = open_matrix_element(el);
        i.kind = m.storage;
        i.n_rows = m.n_rows;
        i.n_cols = m.n_cols;
        i.dtype = m.dtype;
      } else if (enc == "dataframe" || el.has_attr("_index")) {
        i.kind = "dataframe";
        i.n_rows = dataframe_length(el);
        i.n_cols = int64_t(el.attr_strings("column-order").size());
        i.dtype = "dataframe";
      } else {
        i.kind = "other";
        i.dtype = enc.empty() ? "group" : enc;
      }
    }
    out.push_back(i);
  }
  return out;
}

std::vector<std::string> AnnDataFile::uns_keys() const {
  const auto g = m_root.open_if("uns");
  return g && g->is_group() ? g->members() : std::vector<std::string>{};
}

std::string resolve_matrix(const std::string& which, bool has_x, bool has_raw, const std::vector<std::string>& layers,
                           const std::string& where, const std::string& holder) {
  if (which.empty() || which == "X") {
    if (!has_x)
      fail(where + ": X not found (the " + holder + " has no X; layers: " + join(layers) +
           (has_raw ? "; raw/X present" : "") + ")");
    return "X";
  }
  if (which == "raw" || which == "raw/X" || which == "raw.X") {
    if (!has_raw) fail(where + ": raw/X not found (the " + holder + " has no raw)");
    return "raw/X";
  }
  std::string name = which;
  if (name.rfind("layers/", 0) == 0) name = name.substr(7);
  if (name.empty() || name.find('/') != std::string::npos ||
      std::find(layers.begin(), layers.end(), name) == layers.end())
    fail("layer '" + name + "' not found in " + where + "; layers: " + join(layers));
  return "layers/" + name;
}

Node AnnDataFile::matrix_node(const std::string& which, std::string* rel) const {
  const bool want_x = which.empty() || which == "X";
  const bool want_raw = which == "raw" || which == "raw/X" || which == "raw.X";
  // Only the layer lookup and the X-missing message need the layer list.
  const std::vector<std::string> l = want_raw || (want_x && has_x()) ? std::vector<std::string>{} : layers();
  *rel = resolve_matrix(which, has_x(), has_raw(), l, where());
  if (*rel == "raw/X" && !m_root.has("raw/X")) *rel = "raw.X";
  return m_root.open(*rel);
}

MatrixElement AnnDataFile::checked_element(const std::string& which, std::string* rel) const {
  const Node n = matrix_node(which, rel);
  MatrixElement m = open_matrix_element(n);
  const bool raw = *rel == "raw/X" || *rel == "raw.X";
  if (m.n_rows != n_obs())
    n.fail("shape " + shape_str(m.n_rows, m.n_cols) + " disagrees with obs (" + std::to_string(n_obs()) + " rows)");
  if (raw) {
    int64_t raw_vars = n_vars();
    if (m_root.has("raw/var")) raw_vars = dataframe_length(m_root.open("raw/var"));
    else if (m_root.has("raw.var")) raw_vars = dataframe_length(m_root.open("raw.var"));
    if (m.n_cols != raw_vars)
      n.fail("shape " + shape_str(m.n_rows, m.n_cols) + " disagrees with raw/var (" + std::to_string(raw_vars) + " rows)");
  } else if (m.n_cols != n_vars()) {
    n.fail("shape " + shape_str(m.n_rows, m.n_cols) + " disagrees with var (" + std::to_string(n_vars()) + " rows)");
  }
  return m;
}

MatrixInfo AnnDataFile::matrix_info(const std::string& which) const {
  std::string rel;
  const MatrixElement m = checked_element(which, &rel);
  MatrixInfo i;
  i.path = rel;
  i.n_rows = m.n_rows;
  i.n_cols = m.n_cols;
  i.nnz = m.nnz;
  i.storage = m.storage;
  i.dtype = m.dtype;
  return i;
}

CsrMatrix AnnDataFile::read_matrix(const std::string& which, const ReadOptions& opts) const {
  std::string rel;
  const MatrixElement m = checked_element(which, &rel);
  ReadOptions o = opts;
  if (o.memory_budget_bytes <= 0) o.memory_budget_bytes = m_budget;
  return read_matrix_element(m, o);
}

MatrixScan AnnDataFile::scan_matrix(const std::string& which) const {
  std::string rel;
  return scan_matrix_element(checked_element(which, &rel), m_budget);
}

std::vector<std::string> AnnDataFile::obsp_keys() const {
  const auto g = m_root.open_if("obsp");
  return g && g->is_group() ? g->members() : std::vector<std::string>{};
}

CsrMatrix AnnDataFile::read_obsp(const std::string& key) const {
  const auto keys = obsp_keys();
  if (std::find(keys.begin(), keys.end(), key) == keys.end())
    fail("obsp '" + key + "' not found in " + where() + "; obsp: " + join(keys));
  const MatrixElement m = open_matrix_element(m_root.open("obsp/" + key));
  if (m.n_rows != n_obs() || m.n_cols != n_obs())
    m.node.fail("shape " + shape_str(m.n_rows, m.n_cols) + " is not (n_obs, n_obs) = " + shape_str(n_obs(), n_obs()));
  ReadOptions o;
  o.require_counts = false;
  o.memory_budget_bytes = m_budget;
  return read_matrix_element(m, o);
}

std::vector<float> AnnDataFile::read_obsm(const std::string& key, int64_t* n_cols) const {
  const auto g = m_root.open_if("obsm");
  const auto keys = obsm_keys();
  if (!g || std::find(keys.begin(), keys.end(), key) == keys.end())
    fail("obsm '" + key + "' not found in " + where() + "; obsm: " + join(keys));
  if (g->is_dataset()) return read_compound_array(*g, key, n_cols, m_budget);
  const Node el = g->open(key);
  if (el.is_group()) {
    const std::string enc = el.encoding_type();
    el.fail("obsm entry is " + std::string(enc.empty() ? "a group" : "'" + enc + "'") +
            "; only dense arrays can be read as a matrix");
  }
  if (!el.is_numeric()) el.fail("obsm entry holds " + el.dtype_name() + ", not numbers");
  const auto d = el.dims();
  if (d.empty() || d.size() > 2) el.fail("obsm entry must be 1-d or 2-d");
  const int64_t n = d[0], k = d.size() == 2 ? d[1] : 1;
  if (n != n_obs()) el.fail("has " + std::to_string(n) + " rows but obs has " + std::to_string(n_obs()));
  check_alloc(el.file(), el.path(), n, std::max<int64_t>(k, 1) * 4, m_budget, "the obsm entry");
  std::vector<float> out(size_t(n * k));
  if (d.size() == 1) {
    const auto v = read_doubles(el, m_budget);
    std::copy(v.begin(), v.end(), out.begin());
  } else if (k > 0) {
    const int64_t rows_per = std::max<int64_t>(1, (int64_t(1) << 20) / k);
    std::vector<double> buf;
    for (int64_t r = 0; r < n; r += rows_per) {
      const int64_t nr = std::min(rows_per, n - r);
      buf.resize(size_t(nr * k));
      read_rows(el, r, nr, buf.data());
      std::copy(buf.begin(), buf.end(), out.begin() + r * k);
    }
  }
  *n_cols = k;
  return out;
}

}  // namespace cuvi::io
