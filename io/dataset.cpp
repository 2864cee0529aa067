// Format detection and the uniform loader over .h5ad, 10x .h5 and .h5mu (see dataset.h).
#include "io/dataset.h"

#include "engine/error.h"
#include "io/anndata.h"
#include "io/mudata.h"
#include "io/tenx.h"

namespace cuvi::io {

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < 20; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > 20) s += ", ...";
  return s.empty() ? "(none)" : s;
}
std::string tenx_feature_type(const std::string& modality) {
  if (modality == "rna" || modality == "gex") return "Gene Expression";
  if (modality == "atac" || modality == "peaks") return "Peaks";
  if (modality == "protein" || modality == "prot" || modality == "adt") return "Antibody Capture";
  return modality;
}
}  // namespace

const char* format_name(FileFormat f) {
  switch (f) {
    case FileFormat::AnnData: return "AnnData .h5ad";
    case FileFormat::Tenx: return "10x CellRanger .h5";
    default: return "MuData .h5mu";
  }
}

FileFormat detect_format(const std::string& path) {
  const Node root = Node::root(H5File::open_read(path));
  if (is_mudata(root)) return FileFormat::MuData;
  if (root.has("obs") && root.has("var")) return FileFormat::AnnData;
  if (is_10x_h5(root)) return FileFormat::Tenx;
  fail(path + ": not an AnnData, 10x or MuData file; top-level members: " + join(root.members()));
}

Dataset load_dataset(const std::string& path, const LoadOptions& opts) {
  Dataset d;
  d.path = path;
  d.format = detect_format(path);
  ReadOptions ro;
  ro.require_counts = opts.require_counts;
  ro.allow_fractional_counts = opts.allow_fractional_counts;
  ro.memory_budget_bytes = opts.memory_budget_bytes;
  if (d.format == FileFormat::Tenx) {
    if (!opts.layer.empty()) fail(path + ": 10x files have no layers (asked for '" + opts.layer + "')");
    TenxOptions to;
    to.genome = opts.genome;
    to.feature_type = !opts.feature_type.empty() ? opts.feature_type : tenx_feature_type(opts.modality);
    to.require_counts = opts.require_counts;
    to.memory_budget_bytes = opts.memory_budget_bytes;
    TenxData t = read_10x_h5(path, to);
    d.source = t.version == 3 ? "/matrix" : "/" + t.genome;
    d.storage = "csc";
    d.counts = std::move(t.counts);
    d.obs = std::move(t.obs);
    d.var = std::move(t.var);
    d.notes = std::move(t.notes);
  } else if (d.format == FileFormat::MuData) {
    const MuDataFile mu = MuDataFile::open(path, opts.memory_budget_bytes);
    std::string mod = opts.modality;
    if (mod.empty()) {
      if (mu.modalities().size() != 1)
        fail(path + ": the file holds " + std::to_string(mu.modalities().size()) + " modalities (" + join(mu.modalities()) +
             "); choose one with the modality option");
      mod = mu.modalities()[0];
    }
    const AnnDataFile& a = mu.modality(mod);
    const MatrixInfo info = a.matrix_info(opts.layer);
    d.source = a.group_path() + "/" + info.path;
    d.storage = info.storage;
    d.counts = a.read_matrix(opts.layer, ro);
    d.obs = a.obs();
    d.var = info.path == "X" || info.path.rfind("layers/", 0) == 0 ? a.var() : a.raw_var();
  } else {
    if (!opts.modality.empty()) fail(path + ": an .h5ad file has no modalities (asked for '" + opts.modality + "')");
    if (!opts.genome.empty() || !opts.feature_type.empty())
      fail(path + ": genome and feature type apply to 10x .h5 files only");
    const AnnDataFile a = AnnDataFile::open(path, opts.memory_budget_bytes);
    const MatrixInfo info = a.matrix_info(opts.layer);
    d.source = "/" + info.path;
    d.storage = info.storage;
    d.counts = a.read_matrix(opts.layer, ro);
    d.obs = a.obs();
    d.var = info.path == "X" || info.path.rfind("layers/", 0) == 0 ? a.var() : a.raw_var();
  }
  describe_counts(d, d.counts, opts.require_counts && opts.allow_fractional_counts, "--strict-counts refuses them");
  return d;
}

void describe_counts(Dataset& d, const CsrView& counts, bool warn_fractional, const std::string& refuse_hint) {
  d.summary = summarize_counts(counts);
  if (warn_fractional) {
    const FractionalCounts f = find_fractional_counts(counts);
    if (f.n > 0)
      d.warnings.push_back(d.path + " (" + d.source + "): " + std::to_string(f.n) + " of " + std::to_string(counts.nnz()) +
                           " stored values are not integers (first: " + format_number(f.first_value) + " at row " +
                           std::to_string(f.first_row) + ", column " + std::to_string(f.first_col) +
                           "); training on them as counts, as scvi-tools does (" + refuse_hint + ")");
  }
  if (d.summary.all_zero_cells > 0)
    d.notes.push_back(std::to_string(d.summary.all_zero_cells) + " of " + std::to_string(counts.n_rows) +
                      " cells have no counts");
}

}  // namespace cuvi::io
