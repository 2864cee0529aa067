// H5adWriter: temp-file-then-rename writing of results into .h5ad files (see h5ad_writer.h).
// Implements file-formats.md §4.11 (root attrs, tagged elements, dataframe 0.2.0, categoricals) and DESIGN.md §9.
#include "io/h5ad_writer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>

#include "engine/error.h"
#include "io/anndata.h"
#include "io/validate.h"

namespace cuvi::io {

namespace fs = std::filesystem;

namespace {

void check_key(const std::string& what, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    fail("invalid " + what + " name '" + name + "' (must be non-empty and contain no '/')");
}

}  // namespace

void H5adWriter::begin(const std::string& output) {
  h5_init();
  static std::atomic<int> counter{0};
  std::error_code ec;
  if (fs::is_directory(output, ec)) fail(output + ": is a directory");
  const fs::path out(output);
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) fail(output + ": the directory " + dir.string() + " does not exist");
  m_output = output;
  m_tmp = (dir / ("." + out.filename().string() + ".cuvi-tmp-" + std::to_string(getpid()) + "-" +
                  std::to_string(counter++)))
              .string();
}

H5adWriter H5adWriter::copy_of(const std::string& input, const std::string& output, const WriteOptions& opts) {
  H5adWriter w;
  w.m_opts = opts;
  {
    const AnnDataFile in = AnnDataFile::open(input);
    if (in.layout() == AnnDataLayout::Legacy06)
      fail(input + ": the anndata <= 0.6 layout (compound obs/var) cannot be extended; write a new file with "
                   "H5adWriter::create instead");
    w.m_n_obs = in.n_obs();
    w.m_n_vars = in.n_vars();
  }
  w.begin(output);
  std::error_code ec;
  fs::copy_file(input, w.m_tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) fail(output + ": cannot copy " + input + " to a temporary file: " + ec.message());
  fs::permissions(w.m_tmp, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add, ec);
  w.m_file = H5File::open_write(w.m_tmp);
  return w;
}

H5adWriter H5adWriter::create(const std::string& output, const std::vector<std::string>& obs_names,
                              const std::vector<std::string>& var_names, const WriteOptions& opts) {
  DataFrame obs, var;
  obs.index = obs_names;
  var.index = var_names;
  return create(output, obs, var, opts);
}

H5adWriter H5adWriter::create(const std::string& output, const DataFrame& obs, const DataFrame& var,
                              const WriteOptions& opts) {
  H5adWriter w;
  w.m_opts = opts;
  w.begin(output);
  w.m_n_obs = obs.n_rows();
  w.m_n_vars = var.n_rows();
  w.m_file = H5File::create(w.m_tmp);
  const hid_t root = w.m_file->id();
  h5w::tag(root, "anndata", "0.1.0");
  h5w::write_dataframe(root, "obs", obs, true, opts);
  h5w::write_dataframe(root, "var", var, true, opts);
  for (const char* g : {"layers", "obsm", "obsp", "varm", "varp", "uns"}) H5Handle h(h5w::dict_group(root, g));
  return w;
}

H5adWriter::H5adWriter(H5adWriter&& o) noexcept
    : m_file(std::move(o.m_file)),
      m_output(std::move(o.m_output)),
      m_tmp(std::move(o.m_tmp)),
      m_n_obs(o.m_n_obs),
      m_n_vars(o.m_n_vars),
      m_opts(o.m_opts),
      m_committed(o.m_committed) {
  o.m_tmp.clear();
  o.m_committed = true;
}

H5adWriter::~H5adWriter() {
  if (m_committed || m_tmp.empty()) return;
  m_file.reset();
  std::remove(m_tmp.c_str());
}

void H5adWriter::require_open(const char* what) const {
  if (m_committed || !m_file) fail(std::string("H5adWriter: ") + what + " after commit()");
}

void H5adWriter::set_x(const CsrMatrix& x) {
  require_open("set_x");
  if (x.n_rows != m_n_obs || x.n_cols != m_n_vars)
    fail(m_output + ": X of shape (" + std::to_string(x.n_rows) + ", " + std::to_string(x.n_cols) + ") does not match (" +
         std::to_string(m_n_obs) + " obs, " + std::to_string(m_n_vars) + " vars)");
  check_csr(x, m_output + ": X");
  h5w::remove(m_file->id(), "X");
  h5w::write_csr(m_file->id(), "X", x, m_opts);
}

void H5adWriter::set_x_dense(const float* data, int64_t n_rows, int64_t n_cols) {
  require_open("set_x_dense");
  if (n_rows != m_n_obs || n_cols != m_n_vars)
    fail(m_output + ": X of shape (" + std::to_string(n_rows) + ", " + std::to_string(n_cols) + ") does not match (" +
         std::to_string(m_n_obs) + " obs, " + std::to_string(m_n_vars) + " vars)");
  h5w::remove(m_file->id(), "X");
  h5w::write_dense_f32(m_file->id(), "X", data, n_rows, n_cols, m_opts);
}

void H5adWriter::add_obsm(const std::string& name, const float* data, int64_t n_rows, int64_t n_cols) {
  require_open("add_obsm");
  check_key("obsm", name);
  if (n_rows != m_n_obs || n_cols < 0)
    fail(m_output + ": obsm '" + name + "' has " + std::to_string(n_rows) + " rows but obs has " + std::to_string(m_n_obs));
  H5Handle g(h5w::dict_group(m_file->id(), "obsm"));
  h5w::remove(g.get(), name);
  h5w::write_dense_f32(g.get(), name, data, n_rows, n_cols, m_opts);
}

void H5adWriter::add_layer_dense(const std::string& name, const float* data, int64_t n_rows, int64_t n_cols) {
  require_open("add_layer_dense");
  check_key("layer", name);
  if (n_rows != m_n_obs || n_cols != m_n_vars)
    fail(m_output + ": layer '" + name + "' of shape (" + std::to_string(n_rows) + ", " + std::to_string(n_cols) +
         ") does not match (" + std::to_string(m_n_obs) + ", " + std::to_string(m_n_vars) + ")");
  H5Handle g(h5w::dict_group(m_file->id(), "layers"));
  h5w::remove(g.get(), name);
  h5w::write_dense_f32(g.get(), name, data, n_rows, n_cols, m_opts);
}

void H5adWriter::add_layer_csr(const std::string& name, const CsrMatrix& m) {
  require_open("add_layer_csr");
  check_key("layer", name);
  if (m.n_rows != m_n_obs || m.n_cols != m_n_vars)
    fail(m_output + ": layer '" + name + "' of shape (" + std::to_string(m.n_rows) + ", " + std::to_string(m.n_cols) +
         ") does not match (" + std::to_string(m_n_obs) + ", " + std::to_string(m_n_vars) + ")");
  check_csr(m, m_output + ": layer '" + name + "'");
  H5Handle g(h5w::dict_group(m_file->id(), "layers"));
  h5w::remove(g.get(), name);
  h5w::write_csr(g.get(), name, m, m_opts);
}

void H5adWriter::add_obsp_csr(const std::string& name, const CsrMatrix& m) {
  require_open("add_obsp_csr");
  check_key("obsp", name);
  if (m.n_rows != m_n_obs || m.n_cols != m_n_obs)
    fail(m_output + ": obsp '" + name + "' of shape (" + std::to_string(m.n_rows) + ", " + std::to_string(m.n_cols) +
         ") does not match (" + std::to_string(m_n_obs) + ", " + std::to_string(m_n_obs) + ")");
  check_csr(m, m_output + ": obsp '" + name + "'", false);
  H5Handle g(h5w::dict_group(m_file->id(), "obsp"));
  h5w::remove(g.get(), name);
  h5w::write_csr(g.get(), name, m, m_opts);
}

void H5adWriter::add_df_column(const std::string& df, const Column& c, int64_t n) {
  check_key(df + " column", c.name);
  if (c.size() != n)
    fail(m_output + ": " + df + " column '" + c.name + "' has " + std::to_string(c.size()) + " values but " + df + " has " +
         std::to_string(n) + " rows");
  std::vector<std::string> order;
  {
    const Node root = Node::root(m_file);
    const auto node = root.open_if(df);
    if (!node || !node->is_group())
      fail(m_output + ": " + df + " is not a dataframe group; cannot add column '" + c.name + "'");
    const std::string index_name = node->attr_string("_index").value_or("_index");
    if (c.name == index_name || c.name == "__categories")
      fail(m_output + ": cannot add a " + df + " column named '" + c.name + "' (reserved)");
    order = node->attr_strings("column-order");
  }
  H5Handle g(H5Gopen2(m_file->id(), df.c_str(), H5P_DEFAULT));
  h5w::remove(g.get(), c.name);
  h5w::write_column(g.get(), c, true, m_opts);
  if (std::find(order.begin(), order.end(), c.name) == order.end()) order.push_back(c.name);
  h5w::set_string_list_attr(g.get(), "column-order", order);
}

void H5adWriter::add_obs_column(const Column& c) {
  require_open("add_obs_column");
  add_df_column("obs", c, m_n_obs);
}

void H5adWriter::add_var_column(const Column& c) {
  require_open("add_var_column");
  add_df_column("var", c, m_n_vars);
}

hid_t H5adWriter::uns_parent(const std::string& path, std::string* leaf) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    const size_t slash = path.find('/', pos);
    parts.push_back(path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos));
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  for (const auto& p : parts) check_key("uns path component", p);
  H5Handle g(h5w::dict_group(m_file->id(), "uns"));
  for (size_t i = 0; i + 1 < parts.size(); ++i) g = H5Handle(h5w::dict_group(g.get(), parts[i]));
  *leaf = parts.back();
  h5w::remove(g.get(), *leaf);
  const hid_t id = g.get();
  H5Iinc_ref(id);
  return id;
}

void H5adWriter::add_uns_string(const std::string& path, const std::string& value) {
  require_open("add_uns_string");
  std::string leaf;
  H5Handle p(uns_parent(path, &leaf));
  h5w::write_string_scalar(p.get(), leaf, value);
}

void H5adWriter::add_uns_number(const std::string& path, double value) {
  require_open("add_uns_number");
  std::string leaf;
  H5Handle p(uns_parent(path, &leaf));
  h5w::write_number_scalar(p.get(), leaf, value);
}

void H5adWriter::add_uns_integer(const std::string& path, int64_t value) {
  require_open("add_uns_integer");
  std::string leaf;
  H5Handle p(uns_parent(path, &leaf));
  h5w::write_integer_scalar(p.get(), leaf, value);
}

void H5adWriter::add_uns_strings(const std::string& path, const std::vector<std::string>& values) {
  require_open("add_uns_strings");
  std::string leaf;
  H5Handle p(uns_parent(path, &leaf));
  h5w::write_string_array(p.get(), leaf, values, m_opts);
}

void H5adWriter::add_uns_dataframe(const std::string& path, const DataFrame& df) {
  require_open("add_uns_dataframe");
  std::string leaf;
  H5Handle p(uns_parent(path, &leaf));
  h5w::write_dataframe(p.get(), leaf, df, false, m_opts);
}

void H5adWriter::commit() {
  require_open("commit");
  if (H5Fflush(m_file->id(), H5F_SCOPE_GLOBAL) < 0) fail(m_output + ": cannot flush: " + h5_error_detail());
  m_file.reset();
  if (std::rename(m_tmp.c_str(), m_output.c_str()) != 0)
    fail(m_output + ": cannot rename the temporary file " + m_tmp + " onto it");
  m_committed = true;
}

}  // namespace cuvi::io
