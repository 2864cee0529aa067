// MuDataFile: modalities, mod-order, global obs/var and cell alignment (see mudata.h; file-formats.md §3).
#include "io/mudata.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "engine/error.h"

namespace cuvi::io {

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s.empty() ? "(none)" : s;
}
}  // namespace

bool is_mudata(const Node& root) {
  if (root.encoding_type() == "MuData") return true;
  if (!root.has("mod")) return false;
  const Node mod = root.open("mod");
  if (!mod.is_group()) return false;
  for (const auto& m : mod.members())
    if (mod.has(m + "/obs") && mod.has(m + "/var")) return true;
  return false;
}

MuDataFile MuDataFile::open(const std::string& path, int64_t memory_budget_bytes) {
  MuDataFile f;
  f.m_root = Node::root(H5File::open_read(path));
  f.m_budget = memory_budget_bytes > 0 ? memory_budget_bytes : default_memory_budget();
  if (!is_mudata(f.m_root)) fail(path + ": not a MuData file (no /mod group of AnnData modalities)");
  if (f.m_root.has_attr("axis")) {
    const auto a = f.m_root.attr_ints("axis");
    if (a.size() != 1 || a[0] < -1 || a[0] > 1) f.m_root.fail("attribute 'axis' must be 0, 1 or -1");
    f.m_axis = int(a[0]);
  }
  const Node mod = f.m_root.open("mod");
  std::vector<std::string> stored;
  for (const auto& m : mod.members()) {
    const Node g = mod.open(m);
    if (!g.is_group()) continue;
    stored.push_back(m);
    f.m_mods.emplace(m, AnnDataFile::open_group(g, f.m_budget));
  }
  if (stored.empty()) mod.fail("holds no modalities");
  f.m_order = stored;
  if (mod.has_attr("mod-order")) {
    const auto order = mod.attr_strings("mod-order");
    const std::set<std::string> a(order.begin(), order.end()), b(stored.begin(), stored.end());
    for (const auto& m : order)
      if (!b.count(m))
        mod.fail("attribute 'mod-order' names modality '" + m + "', which is absent; modalities stored: " + join(stored));
    if (a == b && order.size() == stored.size()) f.m_order = order;
  }
  if (!f.m_root.has("obs")) f.m_root.fail("has no global obs");
  f.m_obs = read_dataframe(f.m_root.open("obs"), f.m_budget);
  if (f.m_root.has("var")) f.m_var = read_dataframe(f.m_root.open("var"), f.m_budget);

  const int64_t n = f.n_obs();
  for (const auto& name : stored) {
    const AnnDataFile& a = f.m_mods.at(name);
    std::vector<int64_t> map;
    if (f.m_root.has("obsmap/" + name)) {
      const Node om = f.m_root.open("obsmap/" + name);
      const auto v = read_ints(om, f.m_budget);
      if (int64_t(v.size()) != n)
        om.fail("has " + std::to_string(v.size()) + " entries but the global obs has " + std::to_string(n));
      map.resize(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] < 0 || v[i] > a.n_obs())
          om.fail("value " + std::to_string(v[i]) + " at global cell " + std::to_string(i) + " is out of range (modality '" +
                  name + "' has " + std::to_string(a.n_obs()) + " cells; 1-based, 0 = missing)");
        map[i] = v[i] - 1;
      }
      f.m_alignment[name] = "obsmap";
    } else if (a.obs().index == f.m_obs.index) {
      map.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) map[size_t(i)] = i;
      f.m_alignment[name] = "identity";
    } else {
      std::unordered_map<std::string, int64_t> row;
      row.reserve(a.obs().index.size());
      for (size_t i = 0; i < a.obs().index.size(); ++i)
        if (!row.emplace(a.obs().index[i], int64_t(i)).second)
          fail(a.where() + ": cannot align modality '" + name + "' to the global cells: its obs names are not unique ('" +
               a.obs().index[i] + "' repeats) and there is no obsmap/" + name);
      map.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        auto it = row.find(f.m_obs.index[size_t(i)]);
        map[size_t(i)] = it == row.end() ? -1 : it->second;
      }
      f.m_alignment[name] = "obs_names";
    }
    f.m_maps.emplace(name, std::move(map));
  }
  return f;
}

std::string MuDataFile::encoder() const {
  const auto e = m_root.attr_string("encoder");
  return e ? *e + " " + m_root.attr_string("encoder-version").value_or("") : "";
}

const AnnDataFile& MuDataFile::modality(const std::string& name) const {
  auto it = m_mods.find(name);
  if (it == m_mods.end()) fail(path() + ": modality '" + name + "' not found; modalities: " + join(m_order));
  return it->second;
}

const std::vector<int64_t>& MuDataFile::row_map(const std::string& name) const {
  modality(name);
  return m_maps.at(name);
}

const std::string& MuDataFile::alignment(const std::string& name) const {
  modality(name);
  return m_alignment.at(name);
}

CsrMatrix MuDataFile::read_aligned(const std::string& name, const std::string& which, ReadOptions opts) const {
  const auto& map = row_map(name);
  std::vector<int64_t> rows;
  if (opts.rows) {
    for (int64_t g : *opts.rows) {
      if (g < 0 || g >= n_obs())
        fail(path() + ": global cell " + std::to_string(g) + " requested but there are " + std::to_string(n_obs()));
      rows.push_back(map[size_t(g)]);
    }
  } else {
    rows = map;
  }
  opts.rows = std::move(rows);
  return modality(name).read_matrix(which, opts);
}

}  // namespace cuvi::io
