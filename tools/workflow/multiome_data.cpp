// Multiome loading: the three main-file layouts, feature matching of single-modality files by name,
// obs concatenation (outer join, missing values empty), the modality column and the combined CSR.
#include "tools/workflow/multiome_data.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "engine/error.h"
#include "io/anndata.h"
#include "io/mudata.h"
#include "io/tenx.h"

namespace cuvi::workflow {
namespace {

constexpr const char* kPaired = "paired";
constexpr const char* kExpression = "expression";
constexpr const char* kAccessibility = "accessibility";

// One source of cells: RNA and ATAC blocks over the main file's features, obs and the cells' kind.
struct Block {
  io::CsrMatrix rna, atac;
  io::DataFrame obs;
  std::vector<std::string> kind;
};

io::ReadOptions read_options(bool strict) {
  io::ReadOptions ro;
  ro.require_counts = true;
  ro.allow_fractional_counts = !strict;
  return ro;
}

io::CsrMatrix empty_rows(int64_t n_rows, int64_t n_cols) {
  io::CsrMatrix m;
  m.n_rows = n_rows;
  m.n_cols = n_cols;
  m.indptr.assign(size_t(n_rows + 1), 0);
  return m;
}

std::vector<std::string> feature_types(const io::DataFrame& var, const std::string& where) {
  const io::Column* c = var.find("feature_types");
  if (!c) c = var.find("feature_type");
  CUVI_CHECK(c, where + ": var has no 'feature_types' column telling genes ('Gene Expression') from peaks "
                        "('Peaks'); use an .h5mu with rna and atac modalities, or a 10x multiome .h5");
  std::vector<std::string> t(size_t(var.n_rows()));
  for (int64_t i = 0; i < var.n_rows(); ++i) t[size_t(i)] = c->text(i);
  return t;
}

// Columns of `m` whose type is `type`, in order.
io::CsrMatrix select_type(const io::CsrMatrix& m, const std::vector<std::string>& types, const std::string& type,
                          std::vector<int64_t>* kept) {
  std::vector<int64_t> target(size_t(m.n_cols), -1);
  int64_t n = 0;
  for (int64_t j = 0; j < m.n_cols; ++j)
    if (types[size_t(j)] == type) {
      target[size_t(j)] = n++;
      kept->push_back(j);
    }
  return remap_columns(m, target, n);
}

Block from_mudata(const std::string& path, const SetupKeys& keys, bool strict, std::vector<std::string>* genes,
                  std::vector<std::string>* regions, std::string* source) {
  const io::MuDataFile mu = io::MuDataFile::open(path);
  const MultiomeKeys& mk = keys.multiome;
  for (const std::string& m : {mk.rna_modality, mk.atac_modality}) {
    if (mu.has_modality(m)) continue;
    std::string list;
    for (const auto& x : mu.modalities()) list += (list.empty() ? "" : ", ") + x;
    fail(path + ": no modality '" + m + "' (modalities: " + list + "); name them with --rna-modality / --atac-modality");
  }
  const io::AnnDataFile& rna = mu.modality(mk.rna_modality);
  const io::AnnDataFile& atac = mu.modality(mk.atac_modality);
  Block b;
  b.rna = mu.read_aligned(mk.rna_modality, keys.layer, read_options(strict));
  b.atac = mu.read_aligned(mk.atac_modality, mk.atac_layer, read_options(strict));
  *genes = keys.layer == "raw" ? rna.raw_var().index : rna.var().index;
  *regions = mk.atac_layer == "raw" ? atac.raw_var().index : atac.var().index;
  *source = rna.group_path() + "/" + rna.matrix_info(keys.layer).path;
  b.obs = mu.obs();
  const auto& in_rna = mu.row_map(mk.rna_modality);
  const auto& in_atac = mu.row_map(mk.atac_modality);
  for (int64_t i = 0; i < mu.n_obs(); ++i) {
    const bool r = in_rna[size_t(i)] >= 0, a = in_atac[size_t(i)] >= 0;
    b.kind.push_back(r && a ? kPaired : (r ? kExpression : kAccessibility));
  }
  return b;
}

Block from_tenx(const std::string& path, const SetupKeys& keys, std::vector<std::string>* genes,
                std::vector<std::string>* regions) {
  io::TenxOptions to;
  to.genome = keys.genome;
  to.feature_type = "Gene Expression";
  io::TenxData rna = io::read_10x_h5(path, to);
  to.feature_type = "Peaks";
  io::TenxData atac = io::read_10x_h5(path, to);
  CUVI_CHECK(atac.counts.n_cols > 0, path + ": the 10x file has no 'Peaks' features (not a multiome file)");
  Block b;
  b.rna = std::move(rna.counts);
  b.atac = std::move(atac.counts);
  *genes = rna.var.index;
  *regions = atac.var.index;
  b.obs = std::move(rna.obs);
  b.kind.assign(size_t(b.rna.n_rows), kPaired);
  return b;
}

Block from_anndata(const std::string& path, const SetupKeys& keys, bool strict, std::vector<std::string>* genes,
                   std::vector<std::string>* regions, std::string* source) {
  const io::AnnDataFile a = io::AnnDataFile::open(path);
  const io::MatrixInfo info = a.matrix_info(keys.layer);
  const io::DataFrame& var = info.path == "X" || info.path.rfind("layers/", 0) == 0 ? a.var() : a.raw_var();
  const std::vector<std::string> types = feature_types(var, path);
  const io::CsrMatrix m = a.read_matrix(keys.layer, read_options(strict));
  Block b;
  std::vector<int64_t> gi, ri;
  b.rna = select_type(m, types, "Gene Expression", &gi);
  b.atac = select_type(m, types, "Peaks", &ri);
  for (int64_t j : gi) genes->push_back(var.index[size_t(j)]);
  for (int64_t j : ri) regions->push_back(var.index[size_t(j)]);
  *source = "/" + info.path;
  b.obs = a.obs();
  // A file written by organize_multiome_anndatas (or by cuvi) already says where each cell came from.
  const io::Column* mod = b.obs.find(keys.multiome.modality_key);
  for (int64_t i = 0; i < m.n_rows; ++i) {
    const std::string k = mod ? mod->text(i) : "";
    b.kind.push_back(k == kExpression || k == kAccessibility ? k : kPaired);
  }
  return b;
}

// A single-modality file's matrix over `features` (matched by name; absent features are zero columns).
Block single_modality(const std::string& path, const SetupKeys& keys, bool rna, bool strict,
                      const std::vector<std::string>& features, int64_t other_cols, std::vector<std::string>* notes) {
  io::LoadOptions lo;
  lo.allow_fractional_counts = !strict;
  lo.layer = rna ? keys.layer : keys.multiome.atac_layer;
  const io::FileFormat f = io::detect_format(path);
  if (f == io::FileFormat::Tenx) {
    lo.layer.clear();
    lo.feature_type = rna ? "Gene Expression" : "Peaks";
  }
  if (f == io::FileFormat::MuData) lo.modality = rna ? keys.multiome.rna_modality : keys.multiome.atac_modality;
  io::Dataset d = io::load_dataset(path, lo);
  std::map<std::string, int64_t> pos;
  for (size_t j = 0; j < features.size(); ++j) pos.emplace(features[j], int64_t(j));
  std::vector<int64_t> target(size_t(d.counts.n_cols), -1);
  int64_t shared = 0;
  for (int64_t j = 0; j < d.counts.n_cols; ++j) {
    auto it = pos.find(d.var.index[size_t(j)]);
    if (it != pos.end()) {
      target[size_t(j)] = it->second;
      ++shared;
    }
  }
  const std::string what = rna ? "genes" : "regions";
  CUVI_CHECK(shared > 0, path + ": no " + what + " in common with the multiome data");
  if (shared < d.counts.n_cols)
    notes->push_back(path + ": " + std::to_string(d.counts.n_cols - shared) + " " + what +
                     " absent from the multiome data are left out");
  if (shared < int64_t(features.size()))
    notes->push_back(path + ": " + std::to_string(int64_t(features.size()) - shared) + " of the multiome " + what +
                     " are absent and count as zeros");
  Block b;
  io::CsrMatrix m = remap_columns(d.counts, target, int64_t(features.size()));
  if (rna) {
    b.rna = std::move(m);
    b.atac = empty_rows(b.rna.n_rows, other_cols);
  } else {
    b.atac = std::move(m);
    b.rna = empty_rows(b.atac.n_rows, other_cols);
  }
  b.obs = std::move(d.obs);
  b.kind.assign(size_t(d.counts.n_rows), rna ? kExpression : kAccessibility);
  for (auto& w : d.warnings) notes->push_back(w);
  return b;
}

// Outer join of the blocks' obs columns: numbers stay numbers (NaN where a block lacks the column),
// anything else becomes text (empty where missing). Obs names get "_<modality>" as scvi-tools' does.
io::DataFrame concat_obs(const std::vector<Block>& blocks) {
  std::vector<std::string> names;
  for (const Block& b : blocks)
    for (const auto& c : b.obs.columns)
      if (std::find(names.begin(), names.end(), c.name) == names.end()) names.push_back(c.name);
  io::DataFrame out;
  out.index_name = blocks[0].obs.index_name;
  for (const Block& b : blocks)
    for (int64_t i = 0; i < b.obs.n_rows(); ++i) out.index.push_back(b.obs.index[size_t(i)] + "_" + b.kind[size_t(i)]);
  for (const std::string& name : names) {
    bool numeric = true;
    for (const Block& b : blocks) {
      const io::Column* c = b.obs.find(name);
      if (c && c->kind != io::ColumnKind::Numeric) numeric = false;
    }
    std::vector<double> num;
    std::vector<std::string> text;
    bool integer = true;
    for (const Block& b : blocks) {
      const io::Column* c = b.obs.find(name);
      for (int64_t i = 0; i < b.obs.n_rows(); ++i) {
        if (numeric) {
          num.push_back(c ? c->numeric[size_t(i)] : NAN);
          integer = integer && c && c->is_integer;
        } else {
          text.push_back(c ? c->text(i) : "");
        }
      }
    }
    out.columns.push_back(numeric ? io::Column::numbers(name, num, integer)
                                  : io::Column::categorical_from_strings(name, text));
  }
  return out;
}

void set_column(io::DataFrame& df, io::Column c) {
  for (auto& x : df.columns)
    if (x.name == c.name) {
      x = std::move(c);
      return;
    }
  df.columns.push_back(std::move(c));
}

}  // namespace

io::CsrMatrix hstack(const io::CsrMatrix& a, const io::CsrMatrix& b) {
  CUVI_CHECK(a.n_rows == b.n_rows, "hstack: " + std::to_string(a.n_rows) + " and " + std::to_string(b.n_rows) + " rows");
  io::CsrMatrix m;
  m.n_rows = a.n_rows;
  m.n_cols = a.n_cols + b.n_cols;
  m.indptr.assign(size_t(m.n_rows + 1), 0);
  m.indices.reserve(size_t(a.nnz() + b.nnz()));
  m.data.reserve(size_t(a.nnz() + b.nnz()));
  for (int64_t i = 0; i < m.n_rows; ++i) {
    for (int64_t k = a.indptr[i]; k < a.indptr[i + 1]; ++k) {
      m.indices.push_back(a.indices[k]);
      m.data.push_back(a.data[k]);
    }
    for (int64_t k = b.indptr[i]; k < b.indptr[i + 1]; ++k) {
      m.indices.push_back(int32_t(b.indices[k] + a.n_cols));
      m.data.push_back(b.data[k]);
    }
    m.indptr[i + 1] = int64_t(m.data.size());
  }
  return m;
}

io::CsrMatrix vstack(const std::vector<const io::CsrMatrix*>& parts) {
  io::CsrMatrix m;
  m.n_cols = parts.empty() ? 0 : parts[0]->n_cols;
  m.indptr.push_back(0);
  for (const io::CsrMatrix* p : parts) {
    CUVI_CHECK(p->n_cols == m.n_cols, "vstack: matrices with " + std::to_string(m.n_cols) + " and " +
                                          std::to_string(p->n_cols) + " columns");
    for (int64_t i = 0; i < p->n_rows; ++i) m.indptr.push_back(m.indptr.back() + p->indptr[i + 1] - p->indptr[i]);
    m.indices.insert(m.indices.end(), p->indices.begin(), p->indices.end());
    m.data.insert(m.data.end(), p->data.begin(), p->data.end());
    m.n_rows += p->n_rows;
  }
  return m;
}

io::CsrMatrix remap_columns(const io::CsrMatrix& a, const std::vector<int64_t>& target, int64_t n_cols) {
  io::CsrMatrix m;
  m.n_rows = a.n_rows;
  m.n_cols = n_cols;
  m.indptr.assign(size_t(a.n_rows + 1), 0);
  std::vector<std::pair<int32_t, float>> row;
  for (int64_t i = 0; i < a.n_rows; ++i) {
    row.clear();
    for (int64_t k = a.indptr[i]; k < a.indptr[i + 1]; ++k)
      if (target[size_t(a.indices[k])] >= 0) row.emplace_back(int32_t(target[size_t(a.indices[k])]), a.data[k]);
    std::sort(row.begin(), row.end());
    for (const auto& [c, v] : row) {
      m.indices.push_back(c);
      m.data.push_back(v);
    }
    m.indptr[i + 1] = int64_t(m.data.size());
  }
  return m;
}

MultiomeData load_multiome(const std::string& path, const SetupKeys& keys, bool strict) {
  MultiomeData md;
  io::Dataset& d = md.data;
  d.path = path;
  d.format = io::detect_format(path);
  CUVI_CHECK(keys.modality.empty() && keys.feature_type.empty(),
             "MULTIVI reads both modalities; name them with --rna-modality / --atac-modality instead of --modality "
             "or --feature-type");
  std::vector<Block> blocks;
  if (d.format == io::FileFormat::MuData)
    blocks.push_back(from_mudata(path, keys, strict, &md.genes, &md.regions, &d.source));
  else if (d.format == io::FileFormat::Tenx) {
    blocks.push_back(from_tenx(path, keys, &md.genes, &md.regions));
    d.source = "/matrix";
  } else
    blocks.push_back(from_anndata(path, keys, strict, &md.genes, &md.regions, &d.source));
  CUVI_CHECK(!md.genes.empty(), path + ": no gene expression features");
  CUVI_CHECK(!md.regions.empty(), path + ": no accessibility features (peaks)");
  const MultiomeKeys& mk = keys.multiome;
  const int64_t G = int64_t(md.genes.size()), R = int64_t(md.regions.size());
  if (!mk.rna_data.empty())
    blocks.push_back(single_modality(mk.rna_data, keys, true, strict, md.genes, R, &d.notes));
  if (!mk.atac_data.empty())
    blocks.push_back(single_modality(mk.atac_data, keys, false, strict, md.regions, G, &d.notes));

  std::vector<const io::CsrMatrix*> rna, atac;
  for (const Block& b : blocks) {
    rna.push_back(&b.rna);
    atac.push_back(&b.atac);
  }
  d.counts = hstack(vstack(rna), vstack(atac));
  if (blocks.size() == 1) {
    d.obs = blocks[0].obs;
  } else {
    d.obs = concat_obs(blocks);
  }
  std::vector<std::string> kind;
  for (const Block& b : blocks) kind.insert(kind.end(), b.kind.begin(), b.kind.end());
  for (const auto& k : kind) {
    md.n_paired += k == kPaired;
    md.n_expression += k == kExpression;
    md.n_accessibility += k == kAccessibility;
  }
  set_column(d.obs, io::Column::categorical_from_strings(mk.modality_key, kind));
  d.var.index = md.genes;
  d.var.index.insert(d.var.index.end(), md.regions.begin(), md.regions.end());
  std::vector<std::string> types(size_t(G), "Gene Expression");
  types.resize(size_t(G + R), "Peaks");
  d.var.columns.push_back(io::Column::categorical_from_strings("feature_types", types));
  d.summary = io::summarize_counts(d.counts);
  if (!strict) {
    const io::FractionalCounts f = io::find_fractional_counts(d.counts);
    if (f.n > 0)
      d.warnings.push_back(path + ": " + std::to_string(f.n) + " stored values are not integers (first: " +
                           io::format_number(f.first_value) +
                           "); training on them as counts, as scvi-tools does (--strict-counts refuses them)");
  }
  int64_t empty = 0;
  for (int64_t i = 0; i < d.counts.n_rows; ++i) empty += d.counts.indptr[i + 1] == d.counts.indptr[i];
  if (empty > 0)
    d.notes.push_back(std::to_string(empty) + " of " + std::to_string(d.counts.n_rows) +
                      " cells have no counts in either modality (they contribute only the prior)");
  return md;
}

PreparedData prepare_multiome(const std::string& path, const SetupKeys& keys, const DataRegistry* model,
                              bool strict_counts) {
  SetupKeys k = keys;
  k.multiome.enabled = true;
  MultiomeData md = load_multiome(path, k, strict_counts);
  if (model) {
    io::check_same_genes(model->genes, md.genes, path);
    io::check_same_genes(model->regions, md.regions, path + " (regions)");
  }
  PreparedData p = register_dataset(std::move(md.data), k, model);
  p.registry.genes = md.genes;
  p.registry.regions = md.regions;
  return p;
}

}  // namespace cuvi::workflow
