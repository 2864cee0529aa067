// Simulator implementation. Every draw comes from Philox (kernels/common/philox.h, sampling.h) keyed by
// (seed, stream per quantity, element), so a seed reproduces the data set exactly on any machine.
#include "tools/workflow/simulate.h"

#include "tools/workflow/multiome_data.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/error.h"
#include "io/h5ad_writer.h"
#include "kernels/common/sampling.h"

namespace cuvi::workflow {
namespace {

enum Stream : uint32_t {
  kBase = 1, kTypeNoise, kMarkers, kMarkerLfc, kDe, kDeLfc, kBatchLfc, kBatchLib, kDonorLfc, kDonorSex, kDonorAge,
  kCellDonor, kCellType, kCellLib, kTheta, kCounts, kPeaks, kPeakCounts
};

struct Rng {
  uint64_t seed;
  double u(Stream s, uint64_t e) const { return philox_uniform(seed, 0, s, e); }
  double n(Stream s, uint64_t e) const { return philox_normal(seed, 0, s, e); }
};

std::string padded(const char* prefix, int64_t i, int64_t n) {
  const int w = int(std::to_string(std::max<int64_t>(n - 1, 1)).size());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%0*lld", prefix, w, (long long)i);
  return buf;
}

// A random order of [0, n): indices sorted by Philox keys (deterministic, uniform).
std::vector<int64_t> permutation(const Rng& r, Stream s, uint64_t salt, int64_t n) {
  std::vector<std::pair<double, int64_t>> keys(n);
  for (int64_t i = 0; i < n; ++i) keys[i] = {r.u(s, salt * uint64_t(n) + uint64_t(i)), i};
  std::sort(keys.begin(), keys.end());
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = keys[i].second;
  return out;
}

// k distinct indices of [0, n), ascending.
std::vector<int64_t> choose(const Rng& r, Stream s, uint64_t salt, int64_t n, int64_t k) {
  std::vector<int64_t> out = permutation(r, s, salt, n);
  out.resize(std::min(k, n));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

SimulatedData simulate(const SimulationConfig& c) {
  CUVI_CHECK(c.n_cells > 1 && c.n_genes > 1, "simulate: need at least 2 cells and 2 genes");
  CUVI_CHECK(c.n_cell_types >= 1 && c.n_batches >= 1, "simulate: need at least one cell type and one batch");
  CUVI_CHECK(c.n_donors >= c.n_batches, "simulate: need at least one donor per batch");
  const Rng r{c.seed};
  const int64_t C = c.n_cells, G = c.n_genes, T = c.n_cell_types, B = c.n_batches, D = c.n_donors;
  SimulatedData out;

  // Genes: base expression, per-type programmes (markers + small noise), condition DE, dispersion.
  std::vector<double> base(G), theta(G), de_lfc(G, 0.0);
  std::vector<double> type_lfc(T * G, 0.0);
  std::vector<std::string> marker_of(G);
  for (int64_t g = 0; g < G; ++g) {
    base[g] = 1.8 * r.n(kBase, g);
    theta[g] = c.theta_median * std::exp(0.6 * r.n(kTheta, g));
  }
  // Marker sets are disjoint: consecutive slices of one random gene order, so each marker has one type.
  const int64_t n_markers = std::max<int64_t>(1, std::min<int64_t>(int64_t(c.marker_fraction * G), G / T));
  const std::vector<int64_t> gene_order = permutation(r, kMarkers, 1, G);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t g = 0; g < G; ++g) type_lfc[t * G + g] = 0.15 * r.n(kTypeNoise, uint64_t(t * G + g));
    if (T == 1) break;
    for (int64_t k = t * n_markers; k < (t + 1) * n_markers; ++k) {
      const int64_t g = gene_order[k];
      type_lfc[t * G + g] += c.marker_lfc + 0.4 * r.n(kMarkerLfc, uint64_t(t * G + g));
      marker_of[g] = padded("type_", t, T);
    }
  }
  const int64_t n_de = int64_t(c.de_fraction * G);
  int64_t k = 0;
  for (int64_t g : choose(r, kDe, 0, G, n_de)) {
    const double mag = c.de_lfc + 0.3 * std::fabs(r.n(kDeLfc, g));
    de_lfc[g] = (k++ % 2 == 0) ? mag : -mag;
  }
  std::vector<double> batch_lfc(B * G), batch_lib(B);
  for (int64_t b = 0; b < B; ++b) {
    batch_lib[b] = B > 1 ? c.batch_library_shift * r.n(kBatchLib, b) : 0.0;
    for (int64_t g = 0; g < G; ++g) batch_lfc[b * G + g] = B > 1 ? c.batch_effect * r.n(kBatchLfc, b * G + g) : 0.0;
  }
  // Donors: batch d % B, condition (d / B) % 2 so every batch holds both conditions.
  std::vector<double> donor_lfc(D * G);
  std::vector<int32_t> donor_batch(D), donor_cond(D), donor_sex(D);
  std::vector<double> donor_age(D);
  for (int64_t d = 0; d < D; ++d) {
    donor_batch[d] = int32_t(d % B);
    donor_cond[d] = int32_t((d / B) % 2);
    donor_sex[d] = r.u(kDonorSex, d) < 0.5 ? 0 : 1;
    donor_age[d] = std::floor(25 + 60 * r.u(kDonorAge, d));
    for (int64_t g = 0; g < G; ++g) donor_lfc[d * G + g] = c.donor_effect * r.n(kDonorLfc, d * G + g);
  }
  // Cell-type proportions decay geometrically (rare types exist).
  std::vector<double> type_cdf(T);
  double acc = 0;
  for (int64_t t = 0; t < T; ++t) acc += std::pow(0.7, double(t));
  double run = 0;
  for (int64_t t = 0; t < T; ++t) type_cdf[t] = (run += std::pow(0.7, double(t)) / acc);

  std::vector<int32_t> cell_type(C), cell_donor(C);
  std::vector<double> cell_lib(C);
  io::CsrMatrix& m = out.counts;
  m.n_rows = C;
  m.n_cols = G;
  m.indptr.assign(1, 0);
  // Cells are independent (counter-based draws): blocks of rows in parallel, appended in order.
  constexpr int64_t kBlock = 1024;
  std::vector<std::vector<int32_t>> blk_idx(kBlock);
  std::vector<std::vector<float>> blk_val(kBlock);
  for (int64_t i0 = 0; i0 < C; i0 += kBlock) {
    const int64_t i1 = std::min(C, i0 + kBlock);
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = i0; i < i1; ++i) {
      std::vector<int32_t>& idx = blk_idx[i - i0];
      std::vector<float>& val = blk_val[i - i0];
      idx.clear();
      val.clear();
      thread_local std::vector<double> logits;
      logits.resize(G);
      const int32_t d = int32_t(std::min<int64_t>(D - 1, int64_t(r.u(kCellDonor, i) * D)));
      const double ut = r.u(kCellType, i);
      int32_t t = 0;
      while (t + 1 < T && ut > type_cdf[t]) ++t;
      cell_type[i] = t;
      cell_donor[i] = d;
      const int32_t b = donor_batch[d];
      cell_lib[i] = c.library_median * std::exp(batch_lib[b] + c.library_sd * r.n(kCellLib, i));
      double mx = -1e300;
      for (int64_t g = 0; g < G; ++g) {
        logits[g] = base[g] + type_lfc[t * G + g] + batch_lfc[b * G + g] + donor_lfc[d * G + g] +
                    (donor_cond[d] == 1 ? de_lfc[g] : 0.0);
        mx = std::max(mx, logits[g]);
      }
      double z = 0;
      for (int64_t g = 0; g < G; ++g) z += std::exp(logits[g] - mx);
      for (int64_t g = 0; g < G; ++g) {
        const double mu = cell_lib[i] * std::exp(logits[g] - mx) / z;
        const PhiloxSite site{c.seed, 0, kCounts, uint64_t(i * G + g) * kDrawsPerElement};
        const double x = sample_nb(mu, theta[g], site);
        if (x > 0) {
          idx.push_back(int32_t(g));
          val.push_back(float(x));
        }
      }
    }
    for (int64_t i = i0; i < i1; ++i) {
      m.indices.insert(m.indices.end(), blk_idx[i - i0].begin(), blk_idx[i - i0].end());
      m.data.insert(m.data.end(), blk_val[i - i0].begin(), blk_val[i - i0].end());
      m.indptr.push_back(int64_t(m.data.size()));
    }
  }

  // Tables.
  std::vector<std::string> cell_names(C), type_names(T), batch_names(B), donor_names(D);
  for (int64_t t = 0; t < T; ++t) type_names[t] = padded("type_", t, T);
  for (int64_t b = 0; b < B; ++b) batch_names[b] = padded("batch_", b, B);
  for (int64_t d = 0; d < D; ++d) donor_names[d] = padded("donor_", d, D);
  for (int64_t i = 0; i < C; ++i) cell_names[i] = padded("cell_", i, C);
  auto cat = [](std::vector<std::string> cats, std::vector<int32_t> codes) {
    io::Categorical k;
    k.categories = std::move(cats);
    k.codes = std::move(codes);
    return k;
  };
  std::vector<int32_t> cb(C), cc(C), csex(C);
  std::vector<double> cage(C), clib(C);
  for (int64_t i = 0; i < C; ++i) {
    cb[i] = donor_batch[cell_donor[i]];
    cc[i] = donor_cond[cell_donor[i]];
    csex[i] = donor_sex[cell_donor[i]];
    cage[i] = donor_age[cell_donor[i]];
    clib[i] = cell_lib[i];
  }
  out.obs.index = cell_names;
  out.obs.columns.push_back(io::Column::categorical("cell_type", cat(type_names, cell_type)));
  out.obs.columns.push_back(io::Column::categorical("batch", cat(batch_names, cb)));
  out.obs.columns.push_back(io::Column::categorical("donor", cat(donor_names, cell_donor)));
  out.obs.columns.push_back(io::Column::categorical("condition", cat({"ctrl", "stim"}, cc)));
  out.obs.columns.push_back(io::Column::categorical("sex", cat({"female", "male"}, csex)));
  out.obs.columns.push_back(io::Column::numbers("age", cage, true));
  out.obs.columns.push_back(io::Column::numbers("true_library", clib));
  std::vector<std::string> gene_names(G);
  std::vector<bool> is_de(G);
  std::vector<double> de_log2(G);
  for (int64_t g = 0; g < G; ++g) {
    gene_names[g] = padded("gene_", g, G);
    is_de[g] = de_lfc[g] != 0.0;
    de_log2[g] = de_lfc[g] / std::log(2.0);
  }
  out.var.index = gene_names;
  out.var.columns.push_back(io::Column::texts("marker_of", marker_of));
  out.var.columns.push_back(io::Column::booleans("is_de", is_de));
  out.var.columns.push_back(io::Column::numbers("de_log2fc", de_log2));
  out.var.columns.push_back(io::Column::numbers("base_log_expression", base));
  out.var.columns.push_back(io::Column::numbers("theta", theta));

  // ATAC: each type opens its own peaks; shared peaks open everywhere; counts 0/1/2.
  if (c.n_peaks > 0) {
    const int64_t R = c.n_peaks;
    std::vector<double> p_open(T * R);
    out.peak_cell_type.assign(R, "");
    for (int64_t p = 0; p < R; ++p) {
      const double u = r.u(kPeaks, p);
      const int64_t owner = int64_t(u * (T + 1));  // T = shared
      out.peak_cell_type[p] = owner < T ? type_names[owner] : "";
      for (int64_t t = 0; t < T; ++t) {
        const double base_p = 0.03 + 0.07 * r.u(kPeaks, R + p * T + t);
        p_open[t * R + p] = (owner == t || owner == T) ? std::min(0.9, base_p * 6) : base_p;
      }
      char name[64];
      std::snprintf(name, sizeof name, "chr%lld:%lld-%lld", (long long)(1 + p % 22), (long long)(10000 + 1000 * p),
                    (long long)(10500 + 1000 * p));
      out.peak_names.push_back(name);
    }
    io::CsrMatrix& a = out.atac;
    a.n_rows = C;
    a.n_cols = R;
    a.indptr.assign(size_t(C + 1), 0);
    for (int64_t i = 0; i < C; ++i) {
      const double depth = std::min(1.5, cell_lib[i] / c.library_median);
      for (int64_t p = 0; p < R; ++p) {
        const double u = philox_uniform(c.seed, 0, kPeakCounts, uint64_t(i * R + p));
        const double q = p_open[cell_type[i] * R + p] * depth;
        if (u >= q) continue;
        a.indices.push_back(int32_t(p));
        a.data.push_back(u < q * 0.25 ? 2.f : 1.f);
      }
      a.indptr[size_t(i + 1)] = int64_t(a.data.size());
    }
  }
  return out;
}

void write_simulation(const SimulatedData& d, const SimulationConfig& c, const std::string& path, bool multiome) {
  const bool peaks = d.atac.n_cols > 0;
  CUVI_CHECK(!multiome || peaks, "the multiome layout needs ATAC peaks (--atac-peaks > 0)");
  if (multiome) {
    io::DataFrame var;
    var.index = d.var.index;
    var.index.insert(var.index.end(), d.peak_names.begin(), d.peak_names.end());
    const size_t G = d.var.index.size(), R = d.peak_names.size();
    std::vector<std::string> types(G, "Gene Expression");
    types.resize(G + R, "Peaks");
    var.columns.push_back(io::Column::categorical_from_strings("feature_types", types));
    std::vector<std::string> owner(G, "");
    owner.insert(owner.end(), d.peak_cell_type.begin(), d.peak_cell_type.end());
    var.columns.push_back(io::Column::texts("peak_cell_type", owner));
    io::H5adWriter w = io::H5adWriter::create(path, d.obs, var);
    const io::CsrMatrix x = hstack(d.counts, d.atac);
    w.set_x(x);
    w.add_layer_csr("counts", x);
    w.add_uns_string("simulation/generator", "cuvi simulate --multiome");
    w.add_uns_integer("simulation/seed", int64_t(c.seed));
    w.add_uns_integer("simulation/n_cell_types", c.n_cell_types);
    w.add_uns_integer("simulation/n_batches", c.n_batches);
    w.commit();
    return;
  }
  io::H5adWriter w = io::H5adWriter::create(path, d.obs, d.var);
  w.set_x(d.counts);
  w.add_layer_csr("counts", d.counts);
  if (peaks) {
    std::vector<float> dense(size_t(d.atac.n_rows * d.atac.n_cols), 0.f);
    for (int64_t i = 0; i < d.atac.n_rows; ++i)
      for (int64_t k = d.atac.indptr[i]; k < d.atac.indptr[i + 1]; ++k)
        dense[size_t(i * d.atac.n_cols + d.atac.indices[k])] = d.atac.data[k];
    w.add_obsm("atac", dense.data(), d.counts.n_rows, int64_t(d.peak_names.size()));
    w.add_uns_strings("atac_peaks", d.peak_names);
    w.add_uns_strings("atac_peak_cell_type", d.peak_cell_type);
  }
  w.add_uns_string("simulation/generator", "cuvi simulate");
  w.add_uns_integer("simulation/seed", int64_t(c.seed));
  w.add_uns_integer("simulation/n_cell_types", c.n_cell_types);
  w.add_uns_integer("simulation/n_batches", c.n_batches);
  w.add_uns_integer("simulation/n_donors", c.n_donors);
  w.add_uns_number("simulation/marker_lfc", c.marker_lfc);
  w.add_uns_number("simulation/de_lfc", c.de_lfc);
  w.add_uns_number("simulation/batch_effect", c.batch_effect);
  w.add_uns_number("simulation/library_median", c.library_median);
  w.add_uns_number("simulation/theta_median", c.theta_median);
  w.commit();
}

}  // namespace cuvi::workflow
