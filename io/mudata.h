// MuData .h5mu reader: modalities under /mod (each a full AnnData group of any layout), mod-order, global obs,
// and the alignment of global cells to modality rows through obsmap (1-based, 0 = missing) or obs names (file-formats.md §3).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/anndata.h"

namespace cuvi::io {

class MuDataFile {
 public:
  static MuDataFile open(const std::string& path, int64_t memory_budget_bytes = 0);

  const std::string& path() const { return m_root.file(); }
  int axis() const { return m_axis; }  // 0 shared cells, 1 shared features, -1 both
  std::string encoder() const;         // "mudata 0.4.1", "" when not stored
  // Modalities in mod-order when that attribute lists every one, else in stored order.
  const std::vector<std::string>& modalities() const { return m_order; }
  bool has_modality(const std::string& name) const { return m_mods.count(name) > 0; }
  const AnnDataFile& modality(const std::string& name) const;  // fails listing the modalities

  const DataFrame& obs() const { return m_obs; }  // global cells (union over modalities)
  const DataFrame& var() const { return m_var; }
  int64_t n_obs() const { return m_obs.n_rows(); }

  // Global cell -> row in the modality, or -1 when the cell is missing from it.
  const std::vector<int64_t>& row_map(const std::string& name) const;
  // The modality's matrix with one row per global cell; missing cells are empty rows.
  CsrMatrix read_aligned(const std::string& name, const std::string& which = "", ReadOptions opts = {}) const;
  // How the row map was built: "obsmap", "obs_names" or "identity".
  const std::string& alignment(const std::string& name) const;

 private:
  Node m_root;
  int m_axis = 0;
  std::vector<std::string> m_order;
  std::map<std::string, AnnDataFile> m_mods;
  std::map<std::string, std::vector<int64_t>> m_maps;
  std::map<std::string, std::string> m_alignment;
  DataFrame m_obs, m_var;
  int64_t m_budget = 0;
};

// True when the root looks like an .h5mu (MuData encoding-type or a /mod group of AnnData groups).
bool is_mudata(const Node& root);

}  // namespace cuvi::io
