// H5adWriter: adds results (obsm, layers, obs/var columns, uns values and tables) to a copy of an input
// .h5ad or to a new minimal one, in the anndata 0.8+ tagged layout, through a temporary file renamed on commit (file-formats.md §4.11).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/csr.h"
#include "io/dataframe.h"
#include "io/h5_util.h"
#include "io/h5_write.h"

namespace cuvi::io {

class H5adWriter {
 public:
  // Copies input (anndata 0.7 or tagged layout) to a temporary file next to output and edits the copy.
  static H5adWriter copy_of(const std::string& input, const std::string& output, const WriteOptions& opts = {});
  // A new file with obs/var dataframes (index only, or with columns), no X until set_x.
  static H5adWriter create(const std::string& output, const std::vector<std::string>& obs_names,
                           const std::vector<std::string>& var_names, const WriteOptions& opts = {});
  static H5adWriter create(const std::string& output, const DataFrame& obs, const DataFrame& var,
                           const WriteOptions& opts = {});

  H5adWriter(H5adWriter&& o) noexcept;
  H5adWriter& operator=(H5adWriter&&) = delete;
  H5adWriter(const H5adWriter&) = delete;
  ~H5adWriter();  // without commit(): the temporary file is removed, output is untouched

  int64_t n_obs() const { return m_n_obs; }
  int64_t n_vars() const { return m_n_vars; }
  const std::string& output() const { return m_output; }
  const std::string& temp_path() const { return m_tmp; }

  // An existing element of the same name is replaced.
  void set_x(const CsrMatrix& x);
  void set_x_dense(const float* data, int64_t n_rows, int64_t n_cols);          // (n_obs, n_vars)
  void add_obsm(const std::string& name, const float* data, int64_t n_rows, int64_t n_cols);  // (n_obs, n_cols)
  void add_layer_dense(const std::string& name, const float* data, int64_t n_rows, int64_t n_cols);
  void add_layer_csr(const std::string& name, const CsrMatrix& m);
  // (n_obs, n_obs) pairwise matrix in obsp (scanpy's 'distances', 'connectivities'); rows may be unsorted.
  void add_obsp_csr(const std::string& name, const CsrMatrix& m);
  void add_obs_column(const Column& c);  // String columns are stored as categoricals
  void add_var_column(const Column& c);
  // uns paths may nest ("cuvi/model"); intermediate dicts are created.
  void add_uns_string(const std::string& path, const std::string& value);
  void add_uns_number(const std::string& path, double value);
  void add_uns_integer(const std::string& path, int64_t value);
  void add_uns_strings(const std::string& path, const std::vector<std::string>& values);
  void add_uns_dataframe(const std::string& path, const DataFrame& df);  // String columns stay strings

  // Flushes, closes and renames the temporary file onto output.
  void commit();

 private:
  H5adWriter() = default;
  void begin(const std::string& output);
  void require_open(const char* what) const;
  void add_df_column(const std::string& df, const Column& c, int64_t n);
  hid_t uns_parent(const std::string& path, std::string* leaf);  // caller closes

  std::shared_ptr<H5File> m_file;
  std::string m_output, m_tmp;
  int64_t m_n_obs = 0, m_n_vars = 0;
  WriteOptions m_opts;
  bool m_committed = false;
};

}  // namespace cuvi::io
