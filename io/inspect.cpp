// `cuvi inspect` report for AnnData, 10x and MuData files (see inspect.h); every section of
// file-formats.md §1-§3 that matters to a user is printed, and structural problems are raised as errors.
#include "io/inspect.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>

#include "engine/error.h"
#include "io/anndata.h"
#include "io/dataset.h"
#include "io/mudata.h"
#include "io/tenx.h"

namespace cuvi::io {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Display form of a number: integers exactly, others with 6 significant digits.
std::string num(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return format_number(v);
  return fmt("%.6g", v);
}

std::string list_some(const std::vector<std::string>& v, size_t k) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < k; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > k) s += ", ... (+" + std::to_string(v.size() - k) + " more)";
  return s.empty() ? "(none)" : s;
}

std::string describe_values(const MatrixScan& s, int64_t n_rows, int64_t n_cols, bool sampled) {
  const double cells = double(n_rows) * double(n_cols);
  std::string out = "nonzero " + std::to_string(s.nonzero);
  if (cells > 0) out += " (" + fmt("%.1f", 100.0 * (1.0 - double(s.nonzero) / cells)) + "% zeros" + (sampled ? " in the sample" : "") + ")";
  out += "; values " + num(s.min_value) + ".." + num(s.max_value);
  out += "; counts: ";
  if (s.looks_like_counts()) out += std::string("yes (non-negative integers") + (sampled ? " in the first rows)" : ")");
  else out += "no (" + s.first_problem + ")";
  if (!sampled) out += "; all-zero cells: " + std::to_string(s.all_zero_rows);
  if (s.unsorted_majors > 0)
    out += "; indices stored unsorted in " + std::to_string(s.unsorted_majors) + " rows/columns (sorted on read)";
  return out;
}

// Count-likeness of the first rows only (headers already checked).
MatrixScan sample_scan(const AnnDataFile& a, const std::string& which, int64_t rows) {
  const MatrixInfo info = a.matrix_info(which);
  ReadOptions o;
  o.require_counts = false;
  std::vector<int64_t> r(size_t(std::min(rows, info.n_rows)));
  std::iota(r.begin(), r.end(), 0);
  o.rows = r;
  const CsrMatrix m = a.read_matrix(which, o);
  MatrixScan s;
  bool first = true;
  for (int64_t q = 0; q < m.nnz(); ++q) {
    const double v = m.data[size_t(q)];
    if (v != 0) ++s.nonzero;
    if (!std::isfinite(v)) {
      if (s.finite) s.first_problem = std::isnan(v) ? "NaN" : "infinite value";
      s.finite = false;
      continue;
    }
    if (first) s.min_value = s.max_value = v, first = false;
    s.min_value = std::min(s.min_value, v);
    s.max_value = std::max(s.max_value, v);
    if (v < 0 && s.non_negative) {
      s.non_negative = false;
      if (s.first_problem.empty()) s.first_problem = "negative value " + format_number(v);
    }
    if (v != std::floor(v) && s.integer) {
      s.integer = false;
      if (s.first_problem.empty()) s.first_problem = "non-integer value " + format_number(v);
    }
  }
  return s;
}

void matrix_line(std::ostream& out, const std::string& indent, const std::string& label, const AnnDataFile& a,
                 const std::string& which, const InspectOptions& o) {
  const MatrixInfo info = a.matrix_info(which);
  out << indent << label << ": " << info.storage << " " << info.dtype << " (" << info.n_rows << " x " << info.n_cols << ")";
  if (info.nnz >= 0) out << ", stored " << info.nnz;
  const bool sampled = !o.full_scan;
  const MatrixScan s = sampled ? sample_scan(a, which, o.sample_rows) : a.scan_matrix(which);
  const int64_t rows = sampled ? std::min(o.sample_rows, info.n_rows) : info.n_rows;
  out << "; " << describe_values(s, rows, info.n_cols, sampled) << "\n";
}

std::string describe_column(const Column& c) {
  switch (c.kind) {
    case ColumnKind::Categorical:
      return std::string(c.cat.ordered ? "ordered " : "") + "categorical, " + std::to_string(c.cat.categories.size()) +
             " categories: " + list_some(c.cat.categories, 6);
    case ColumnKind::String: {
      std::set<std::string> u(c.strings.begin(), c.strings.end());
      return c.dtype + ", " + std::to_string(u.size()) + " distinct";
    }
    case ColumnKind::Boolean: {
      int64_t t = 0, f = 0, na = 0;
      for (double v : c.numeric) (std::isnan(v) ? na : v != 0 ? t : f)++;
      return c.dtype + ", " + std::to_string(t) + " true, " + std::to_string(f) + " false" +
             (na ? ", " + std::to_string(na) + " missing" : "");
    }
    default: {
      double lo = INFINITY, hi = -INFINITY;
      int64_t na = 0;
      for (double v : c.numeric) {
        if (std::isnan(v)) {
          ++na;
          continue;
        }
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      std::string s = c.dtype;
      if (lo <= hi) s += ", range " + num(lo) + ".." + num(hi);
      if (na) s += ", " + std::to_string(na) + " missing";
      return s;
    }
  }
}

void dataframe_block(std::ostream& out, const std::string& indent, const std::string& label, const DataFrame& df) {
  out << indent << label << ": " << df.n_rows() << " rows, " << df.columns.size() << " columns; index ('"
      << df.index_name << "'): " << list_some(std::vector<std::string>(df.index.begin(), df.index.begin() + std::min<size_t>(3, df.index.size())), 3)
      << (df.index.size() > 3 ? ", ..." : "") << "\n";
  size_t w = 0;
  for (const Column& c : df.columns) w = std::max(w, c.name.size());
  for (const Column& c : df.columns) {
    out << indent << "  " << c.name << std::string(w - c.name.size() + 2, ' ') << describe_column(c) << "\n";
  }
  for (const auto& s : df.skipped) out << indent << "  (skipped " << s << ")\n";
}

void anndata_block(std::ostream& out, const std::string& indent, const AnnDataFile& a, const InspectOptions& o) {
  std::string layout = a.layout_name();
  const std::string ev = a.encoding_version(), enc = a.encoder();
  if (!ev.empty()) layout += ", encoding-version " + ev;
  if (!enc.empty()) layout += ", written by " + enc;
  out << indent << "layout: " << layout << "\n";
  out << indent << "shape: " << a.n_obs() << " obs x " << a.n_vars() << " vars\n";
  if (a.has_x()) matrix_line(out, indent, "X", a, "X", o);
  else out << indent << "X: (none)\n";
  const auto layers = a.layers();
  if (layers.empty()) out << indent << "layers: (none)\n";
  for (const auto& l : layers) matrix_line(out, indent, "layers/" + l, a, l, o);
  if (a.has_raw()) {
    matrix_line(out, indent, "raw/X", a, "raw", o);
    out << indent << "raw/var: " << a.raw_var().n_rows() << " rows\n";
  } else {
    out << indent << "raw: (none)\n";
  }
  dataframe_block(out, indent, "obs", a.obs());
  dataframe_block(out, indent, "var", a.var());
  const auto obsm = a.obsm_info();
  out << indent << "obsm:";
  if (obsm.empty()) out << " (none)";
  out << "\n";
  for (const auto& e : obsm)
    out << indent << "  " << e.name << ": "
        << (e.kind == "dataframe" ? "dataframe (" + std::to_string(e.n_rows) + " rows, " + std::to_string(e.n_cols) + " columns)"
                                  : e.kind + " " + e.dtype + " (" + std::to_string(e.n_rows) + " x " + std::to_string(e.n_cols) + ")")
        << "\n";
  out << indent << "uns: " << list_some(a.uns_keys(), 12) << "\n";
}

void tenx_block(std::ostream& out, const std::string& path, const InspectOptions& o) {
  const TenxSummary s = describe_10x_h5(path);
  out << "format: 10x CellRanger .h5, " << (s.version == 3 ? "v3+ layout (/matrix, features/)" : "v2 layout (one group per genome)")
      << "\n";
  if (!s.chemistry.empty()) out << "chemistry: " << s.chemistry << "\n";
  if (s.version == 2) {
    std::vector<std::string> g;
    for (const auto& gi : s.groups) g.push_back(gi.genome);
    out << "genomes: " << list_some(g, 20) << (g.size() > 1 ? " (choose one with the genome option)" : "") << "\n";
  }
  for (const auto& gi : s.groups) {
    const MatrixElement m = open_10x_matrix(path, gi.genome);
    out << gi.group << ": " << gi.n_barcodes << " barcodes x " << gi.n_features << " features, " << gi.dtype
        << " counts, stored " << gi.nnz << " (CSC of features x barcodes = CSR of cells x features)\n";
    if (s.groups.size() == 1) out << "shape: " << gi.n_barcodes << " obs x " << gi.n_features << " vars\n";
    if (o.full_scan) {
      const MatrixScan sc = scan_matrix_element(m);
      out << "  values: " << describe_values(sc, gi.n_barcodes, gi.n_features, false) << "\n";
    }
    std::string ft;
    for (const auto& [t, n] : gi.feature_types) ft += (ft.empty() ? "" : ", ") + t + " " + std::to_string(n);
    out << "  feature types: " << ft << "\n";
    if (!gi.genomes.empty()) {
      std::string gs;
      for (const auto& [t, n] : gi.genomes) gs += (gs.empty() ? "" : ", ") + t + " " + std::to_string(n);
      out << "  genomes: " << gs << "\n";
    }
  }
}

void mudata_block(std::ostream& out, const std::string& path, const InspectOptions& o) {
  const MuDataFile mu = MuDataFile::open(path);
  std::string enc = mu.encoder();
  out << "format: MuData .h5mu, axis " << mu.axis() << (mu.axis() == 0 ? " (modalities share cells)" : mu.axis() == 1 ? " (modalities share features)" : " (both)")
      << (enc.empty() ? ", no encoder attributes (muon 2020 / mudata 0.1 layout)" : ", written by " + enc) << "\n";
  out << "shape: " << mu.n_obs() << " obs (global)";
  if (mu.var().n_rows() > 0) out << " x " << mu.var().n_rows() << " vars (global)";
  out << "\n";
  out << "modalities: " << list_some(mu.modalities(), 20) << "\n";
  dataframe_block(out, "", "obs (global)", mu.obs());
  for (const auto& name : mu.modalities()) {
    const auto& map = mu.row_map(name);
    const int64_t present = std::count_if(map.begin(), map.end(), [](int64_t r) { return r >= 0; });
    out << "modality '" << name << "': " << present << " of " << mu.n_obs() << " global cells present (aligned by "
        << mu.alignment(name) << ")\n";
    anndata_block(out, "  ", mu.modality(name), o);
  }
}

}  // namespace

void inspect_file(const std::string& path, std::ostream& out, const InspectOptions& opts) {
  const FileFormat f = detect_format(path);
  out << "file: " << path << "\n";
  if (f == FileFormat::Tenx) return tenx_block(out, path, opts);
  if (f == FileFormat::MuData) return mudata_block(out, path, opts);
  const AnnDataFile a = AnnDataFile::open(path);
  out << "format: AnnData .h5ad\n";
  anndata_block(out, "", a, opts);
}

}  // namespace cuvi::io
