// AnnData .h5ad reader: one AnnData group (a file root, or /mod/<m> of an .h5mu) in any layout
// generation -- tagged 0.8+, 0.7 dataframe groups, <= 0.6 compound datasets (file-formats.md §1).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/csr.h"
#include "io/dataframe.h"
#include "io/h5_util.h"
#include "io/matrix_reader.h"
#include "io/validate.h"

namespace cuvi::io {

enum class AnnDataLayout { Tagged, Legacy07, Legacy06 };

struct ObsmInfo {
  std::string name;
  std::string kind;  // dense | csr | csc | dataframe | other
  int64_t n_rows = 0, n_cols = 0;
  std::string dtype;
};

class AnnDataFile {
 public:
  static AnnDataFile open(const std::string& path, int64_t memory_budget_bytes = 0);
  // An AnnData group inside an open file (the modalities of an .h5mu).
  static AnnDataFile open_group(const Node& group, int64_t memory_budget_bytes = 0);

  int64_t n_obs() const { return m_obs.n_rows(); }
  int64_t n_vars() const { return m_var.n_rows(); }
  const DataFrame& obs() const { return m_obs; }  // loaded on open
  const DataFrame& var() const { return m_var; }

  bool has_x() const;
  std::vector<std::string> layers() const;
  bool has_raw() const;
  DataFrame raw_var() const;  // the var of raw/X (may have more genes than var)
  std::vector<std::string> obsm_keys() const;
  std::vector<ObsmInfo> obsm_info() const;
  std::vector<std::string> uns_keys() const;

  // which: "" or "X"; "raw" or "raw/X"; "<layer>" or "layers/<layer>". Fails naming what exists.
  MatrixInfo matrix_info(const std::string& which) const;
  // The matrix as CSR float32 (values kept exact); validated as counts when opts.require_counts.
  CsrMatrix read_matrix(const std::string& which, const ReadOptions& opts = {}) const;
  // Structural validation and a value summary without keeping the matrix.
  MatrixScan scan_matrix(const std::string& which) const;
  // A dense obsm entry as (n_obs, n_cols) row-major float32.
  std::vector<float> read_obsm(const std::string& key, int64_t* n_cols) const;
  std::vector<std::string> obsp_keys() const;
  // An obsp entry (sparse or dense, n_obs x n_obs) as CSR float32 with sorted rows; any values.
  CsrMatrix read_obsp(const std::string& key) const;

  const std::string& path() const { return m_root.file(); }
  const std::string& group_path() const { return m_root.path(); }
  const Node& root() const { return m_root; }
  AnnDataLayout layout() const { return m_layout; }
  std::string layout_name() const;  // "anndata >= 0.8 (tagged)", "anndata 0.7", "anndata <= 0.6"
  std::string encoding_version() const;  // root encoding-version attribute, "" when absent
  std::string encoder() const;           // "mudata 0.4.1" when encoder attributes are stored, else ""
  std::string where() const;             // "f.h5ad" or "f.h5mu:/mod/rna", for messages

 private:
  Node matrix_node(const std::string& which, std::string* rel) const;  // via resolve_matrix
  MatrixElement checked_element(const std::string& which, std::string* rel) const;

  Node m_root;
  AnnDataLayout m_layout = AnnDataLayout::Tagged;
  DataFrame m_obs, m_var;
  int64_t m_budget = 0;
};

// Rows of a dataframe element without reading it (index length; compound length).
int64_t dataframe_length(const Node& node);

// The matrix a layer option names ("" or "X", "raw", or a layer name): "X", "raw/X" or "layers/<name>",
// checked against what the AnnData holds; fails listing what it holds. `where` names the AnnData in the
// messages, `holder` what it is ("file", or "AnnData" for one in memory).
std::string resolve_matrix(const std::string& which, bool has_x, bool has_raw, const std::vector<std::string>& layers,
                           const std::string& where, const std::string& holder = "file");

}  // namespace cuvi::io
