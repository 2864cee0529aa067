// CellRanger .h5 reader: group discovery, genome / feature-type selection, barcodes and features (see tenx.h).
// Implements file-formats.md §2.1 (v3+/ARC, features/feature_type) and §2.2 (v2 per-genome groups).
#include "io/tenx.h"

#include <algorithm>
#include <map>

#include "engine/error.h"

namespace cuvi::io {

namespace {

struct Group10x {
  Node g;
  int version = 3;
  std::string genome;  // v2: the group name
};

std::vector<Group10x> find_groups(const Node& root) {
  if (root.has("matrix")) {
    const Node m = root.open("matrix");
    if (m.is_group() && m.has("barcodes")) return {{m, 3, ""}};
  }
  std::vector<Group10x> out;
  for (const auto& name : root.members()) {
    const Node n = root.open(name);
    if (n.is_group() && n.has("barcodes") && n.has("indptr") && n.has("data")) out.push_back({n, 2, name});
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

struct Layout10x {
  Node g;
  int64_t n_features = 0, n_barcodes = 0;
  Node barcodes, ids, names;
  std::optional<Node> types, genomes;
  std::vector<std::pair<std::string, Node>> extra;  // other per-feature tags (interval, derivation, ...)
};

Layout10x layout_of(const Group10x& grp, int64_t budget) {
  Layout10x L;
  L.g = grp.g;
  const Node shape_ds = grp.g.open("shape");
  const auto shape = read_ints(shape_ds, budget);
  if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0)
    shape_ds.fail("must hold two non-negative integers (features, barcodes)");
  L.n_features = shape[0];
  L.n_barcodes = shape[1];
  L.barcodes = grp.g.open("barcodes");
  if (grp.version == 3) {
    const Node f = grp.g.open("features");
    L.ids = f.open("id");
    L.names = f.open("name");
    L.types = f.open_if("feature_type");
    L.genomes = f.open_if("genome");
    for (const auto& m : f.members()) {
      if (m == "id" || m == "name" || m == "feature_type" || m == "genome" || m == "_all_tag_keys") continue;
      const Node n = f.open(m);
      if (n.is_dataset() && n.dims().size() == 1 && n.length() == L.n_features) L.extra.emplace_back(m, n);
    }
  } else {
    L.ids = grp.g.open("genes");
    L.names = grp.g.has("gene_names") ? grp.g.open("gene_names") : L.ids;
  }
  if (L.barcodes.length() != L.n_barcodes)
    L.barcodes.fail("has " + std::to_string(L.barcodes.length()) + " entries but shape claims " +
                    std::to_string(L.n_barcodes) + " barcodes");
  for (const Node* n : {&L.ids, &L.names})
    if (n->length() != L.n_features)
      n->fail("has " + std::to_string(n->length()) + " entries but shape claims " + std::to_string(L.n_features) + " features");
  for (const auto* opt : {&L.types, &L.genomes})
    if (*opt && (*opt)->length() != L.n_features)
      (*opt)->fail("has " + std::to_string((*opt)->length()) + " entries but shape claims " +
                   std::to_string(L.n_features) + " features");
  return L;
}

MatrixElement element_of(const Layout10x& L) {
  return make_csr_element(L.g, L.g.open("data"), L.g.open("indices"), L.g.open("indptr"), L.n_barcodes, L.n_features);
}

Group10x pick_group(const std::vector<Group10x>& groups, const std::string& path, const std::string& genome) {
  if (groups.empty()) fail(path + ": not a 10x CellRanger matrix file (no /matrix group and no genome groups)");
  if (groups[0].version == 3) return groups[0];
  std::vector<std::string> names;
  for (const auto& g : groups) names.push_back(g.genome);
  if (!genome.empty()) {
    for (const auto& g : groups)
      if (g.genome == genome) return g;
    fail(path + ": genome '" + genome + "' not found; genomes: " + join(names));
  }
  if (groups.size() > 1)
    fail(path + ": the file holds " + std::to_string(groups.size()) + " genomes (" + join(names) +
         "); choose one with the genome option");
  return groups[0];
}

std::vector<std::pair<std::string, int64_t>> tally(const std::vector<std::string>& v) {
  std::vector<std::pair<std::string, int64_t>> out;
  std::map<std::string, size_t> pos;
  for (const auto& s : v) {
    auto it = pos.find(s);
    if (it == pos.end()) {
      pos[s] = out.size();
      out.emplace_back(s, 1);
    } else {
      ++out[it->second].second;
    }
  }
  return out;
}

}  // namespace

bool is_10x_h5(const Node& root) { return !find_groups(root).empty(); }

TenxSummary describe_10x_h5(const std::string& path) {
  const Node root = Node::root(H5File::open_read(path));
  const int64_t budget = default_memory_budget();
  TenxSummary s;
  const auto groups = find_groups(root);
  if (groups.empty()) fail(path + ": not a 10x CellRanger matrix file (no /matrix group and no genome groups)");
  s.version = groups[0].version;
  s.chemistry = root.has_attr("chemistry_description") ? root.attr_string("chemistry_description").value_or("") : "";
  for (const auto& grp : groups) {
    const Layout10x L = layout_of(grp, budget);
    const MatrixElement m = element_of(L);
    TenxGenomeInfo gi;
    gi.group = grp.g.path();
    gi.genome = grp.genome;
    gi.n_barcodes = L.n_barcodes;
    gi.n_features = L.n_features;
    gi.nnz = m.nnz;
    gi.dtype = m.dtype;
    gi.feature_types = L.types ? tally(read_strings(*L.types, budget))
                               : std::vector<std::pair<std::string, int64_t>>{{"Gene Expression", L.n_features}};
    if (L.genomes) gi.genomes = tally(read_strings(*L.genomes, budget));
    s.groups.push_back(gi);
  }
  return s;
}

MatrixElement open_10x_matrix(const std::string& path, const std::string& genome) {
  const Node root = Node::root(H5File::open_read(path));
  const Group10x grp = pick_group(find_groups(root), path, genome);
  return element_of(layout_of(grp, default_memory_budget()));
}

TenxData read_10x_h5(const std::string& path, const TenxOptions& opts) {
  const int64_t budget = opts.memory_budget_bytes > 0 ? opts.memory_budget_bytes : default_memory_budget();
  const Node root = Node::root(H5File::open_read(path));
  const Group10x grp = pick_group(find_groups(root), path, opts.genome);
  const Layout10x L = layout_of(grp, budget);
  TenxData out;
  out.version = grp.version;
  out.genome = grp.genome;

  const auto ids = read_strings(L.ids, budget);
  const auto names = read_strings(L.names, budget);
  const std::vector<std::string> types =
      L.types ? read_strings(*L.types, budget) : std::vector<std::string>(ids.size(), "Gene Expression");
  const std::vector<std::string> genomes =
      L.genomes ? read_strings(*L.genomes, budget) : std::vector<std::string>(ids.size(), grp.genome);

  // Feature selection: genome (v3) and feature type.
  std::vector<uint8_t> keep(ids.size(), 1);
  if (grp.version == 3 && !opts.genome.empty()) {
    bool any = false;
    for (size_t i = 0; i < ids.size(); ++i) {
      keep[i] = genomes[i] == opts.genome;
      any = any || keep[i];
    }
    if (!any) {
      std::vector<std::string> g;
      for (const auto& t : tally(genomes)) g.push_back(t.first);
      fail(path + ": genome '" + opts.genome + "' not found in features/genome; genomes: " + join(g));
    }
    out.genome = opts.genome;
  }
  std::vector<std::string> type_names;
  for (const auto& t : tally(types)) type_names.push_back(t.first);
  std::string ft = opts.feature_type;
  if (ft.empty() && type_names.size() > 1) {
    if (std::find(type_names.begin(), type_names.end(), "Gene Expression") == type_names.end())
      fail(path + ": the file holds several feature types (" + join(type_names) + "); choose one with the feature type option");
    ft = "Gene Expression";
    out.notes.push_back("using feature type 'Gene Expression' of " + join(type_names));
  }
  if (!ft.empty()) {
    if (std::find(type_names.begin(), type_names.end(), ft) == type_names.end())
      fail(path + ": feature type '" + ft + "' not found; feature types: " + join(type_names));
    for (size_t i = 0; i < ids.size(); ++i) keep[i] = keep[i] && types[i] == ft;
  }
  out.feature_type = ft;
  std::vector<int64_t> cols;
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) cols.push_back(int64_t(i));

  ReadOptions ro;
  ro.rows = opts.rows;
  if (cols.size() != ids.size()) ro.cols = cols;
  ro.require_counts = opts.require_counts;
  ro.memory_budget_bytes = budget;
  out.counts = read_matrix_element(element_of(L), ro);

  const auto barcodes = read_strings(L.barcodes, budget);
  if (opts.rows) {
    for (int64_t r : *opts.rows) out.obs.index.push_back(r < 0 ? std::string() : barcodes[size_t(r)]);
  } else {
    out.obs.index = barcodes;
  }
  std::vector<std::string> sel_names, sel_types, sel_genomes;
  for (int64_t c : cols) {
    out.var.index.push_back(ids[size_t(c)]);
    sel_names.push_back(names[size_t(c)]);
    sel_types.push_back(types[size_t(c)]);
    sel_genomes.push_back(genomes[size_t(c)]);
  }
  out.var.columns.push_back(Column::texts("gene_symbols", sel_names));
  out.var.columns.push_back(Column::categorical_from_strings("feature_types", sel_types));
  if (L.genomes || grp.version == 2) out.var.columns.push_back(Column::categorical_from_strings("genome", sel_genomes));
  for (const auto& [name, node] : L.extra) {
    const auto all = read_strings(node, budget);
    std::vector<std::string> sel;
    for (int64_t c : cols) sel.push_back(all[size_t(c)]);
    out.var.columns.push_back(Column::texts(name, sel));
  }
  return out;
}

}  // namespace cuvi::io
