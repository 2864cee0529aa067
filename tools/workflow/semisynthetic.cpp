// Semi-synthetic cohort: Philox-keyed sample assignment, cell dropping and count re-draws, so a seed
// reproduces the cohort exactly.
#include "tools/workflow/semisynthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/error.h"
#include "io/h5ad_writer.h"
#include "kernels/common/sampling.h"

namespace cuvi::workflow {
namespace {

enum Stream : uint32_t { kSample = 101, kDrop, kGenes, kDirection, kCounts };

double uniform(uint64_t seed, Stream s, uint64_t e) { return philox_uniform(seed, 0, s, e); }

// Binomial(n, p) by n Bernoulli draws (counts are small) keyed by (stream, element, draw).
double thin(double n, double p, uint64_t seed, uint64_t e) {
  double k = 0;
  for (int64_t t = 0; t < int64_t(n); ++t) k += uniform(seed, kCounts, e * 4096 + uint64_t(t)) < p ? 1 : 0;
  return k;
}

// Rows `keep` of a column, its kind kept; a name the cohort itself writes is prefixed "source_".
io::Column subset_column(const io::Column& c, const std::vector<int64_t>& keep) {
  io::Column o = c;
  if (o.name == "donor" || o.name == "group" || o.name == "affected") o.name = "source_" + o.name;
  auto pick = [&](auto& v) {
    auto src = v;
    v.clear();
    for (int64_t i : keep) v.push_back(src[size_t(i)]);
  };
  if (!o.cat.codes.empty()) pick(o.cat.codes);
  if (!o.numeric.empty()) pick(o.numeric);
  if (!o.strings.empty()) pick(o.strings);
  return o;
}

}  // namespace

CohortSummary write_semisynthetic_cohort(const PreparedData& real, const CohortConfig& c, const std::string& path) {
  CUVI_CHECK(!real.registry.keys.labels_key.empty(), "the cohort needs the cell types of the real data (--labels-key)");
  CUVI_CHECK(c.n_samples >= 2, "--n-samples must be at least 2");
  CUVI_CHECK(c.de_fraction >= 0 && c.de_fraction <= 1 && c.abundance_shift >= 0 && c.abundance_shift < 1,
             "--de-fraction must be in [0, 1] and --abundance-shift in [0, 1)");
  const io::CsrMatrix& X = real.data.counts;
  const int64_t N = X.n_rows, G = X.n_cols;
  const std::vector<std::string>& types = real.registry.label_categories;
  int32_t affected = -1;
  if (c.affected_type.empty()) {
    std::vector<int64_t> n(types.size(), 0);
    for (int32_t l : real.cells.labels) ++n[size_t(l)];
    affected = int32_t(std::max_element(n.begin(), n.end()) - n.begin());
  } else {
    for (size_t t = 0; t < types.size(); ++t)
      if (types[t] == c.affected_type) affected = int32_t(t);
    CUVI_CHECK(affected >= 0, "--affected-type '" + c.affected_type + "' is not a category of '" +
                                  real.registry.keys.labels_key + "'");
  }
  // Truth: changed genes and their direction.
  std::vector<double> lfc(size_t(G), 0.0);
  std::vector<std::pair<double, int64_t>> keys;
  for (int64_t g = 0; g < G; ++g) keys.push_back({uniform(c.seed, kGenes, uint64_t(g)), g});
  std::sort(keys.begin(), keys.end());
  const int64_t n_de = int64_t(std::llround(c.de_fraction * double(G)));
  for (int64_t k = 0; k < n_de; ++k) lfc[size_t(keys[size_t(k)].second)] = (k % 2 == 0 ? 1.0 : -1.0) * c.lfc;
  // Cells: sample, group, kept or dropped.
  const int64_t half = c.n_samples / 2;  // samples [0, half) control, [half, S) case
  std::vector<int64_t> kept;
  std::vector<int32_t> sample;
  for (int64_t i = 0; i < N; ++i) {
    const int32_t s = int32_t(std::min<double>(double(c.n_samples) - 1, std::floor(uniform(c.seed, kSample, uint64_t(i)) * double(c.n_samples))));
    const bool control = s < half, hit = real.cells.labels[size_t(i)] == affected;
    if (control && hit && uniform(c.seed, kDrop, uint64_t(i)) < c.abundance_shift) continue;
    kept.push_back(i);
    sample.push_back(s);
  }
  io::CsrMatrix out;
  out.n_rows = int64_t(kept.size());
  out.n_cols = G;
  out.indptr.push_back(0);
  CohortSummary sum;
  std::vector<uint8_t> affected_flag;
  for (size_t r = 0; r < kept.size(); ++r) {
    const int64_t i = kept[r];
    const bool changed = sample[r] >= half && real.cells.labels[size_t(i)] == affected;
    affected_flag.push_back(uint8_t(changed));
    sum.n_affected_cells += changed;
    std::vector<double> row(size_t(G), 0.0);
    for (int64_t k = X.indptr[size_t(i)]; k < X.indptr[size_t(i) + 1]; ++k) row[size_t(X.indices[size_t(k)])] = X.data[size_t(k)];
    for (int64_t g = 0; g < G; ++g) {
      double v = row[size_t(g)];
      const double l = lfc[size_t(g)];
      if (changed && l > 0) {
        const PhiloxSite site{c.seed, 0, kCounts, (uint64_t(i) * uint64_t(G) + uint64_t(g)) * kDrawsPerElement};
        v = sample_poisson(v * std::exp(l), site);  // mean scaled by e^lfc
      } else if (changed && l < 0 && v > 0) {
        v = thin(v, std::exp(l), c.seed, uint64_t(i) * uint64_t(G) + uint64_t(g));
      }
      if (v > 0) {
        out.indices.push_back(int32_t(g));
        out.data.push_back(float(v));
      }
    }
    out.indptr.push_back(int64_t(out.indices.size()));
  }
  io::DataFrame obs;
  for (int64_t i : kept) obs.index.push_back(real.data.obs.index[size_t(i)]);
  for (const io::Column& col : real.data.obs.columns) obs.columns.push_back(subset_column(col, kept));
  const int w = int(std::to_string(c.n_samples - 1).size());
  std::vector<std::string> donor, group;
  std::vector<bool> aff;
  for (size_t r = 0; r < kept.size(); ++r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "sample_%0*d", w, sample[r]);
    donor.push_back(buf);
    group.push_back(sample[r] < half ? "control" : "case");
    aff.push_back(affected_flag[r] != 0);
  }
  obs.columns.push_back(io::Column::categorical_from_strings("donor", donor));
  obs.columns.push_back(io::Column::categorical_from_strings("group", group));
  obs.columns.push_back(io::Column::booleans("affected", aff));
  io::DataFrame var;
  var.index = real.data.var.index;
  std::vector<bool> is_de;
  for (double l : lfc) is_de.push_back(l != 0);
  var.columns.push_back(io::Column::booleans("is_de", is_de));
  var.columns.push_back(io::Column::numbers("true_lfc", lfc));
  io::H5adWriter wr = io::H5adWriter::create(path, obs, var);
  wr.set_x(out);
  wr.add_uns_string("cohort/affected_type", types[size_t(affected)]);
  wr.add_uns_number("cohort/lfc", c.lfc);
  wr.add_uns_number("cohort/abundance_shift", c.abundance_shift);
  wr.add_uns_integer("cohort/n_samples", c.n_samples);
  wr.add_uns_integer("cohort/seed", int64_t(c.seed));
  wr.add_uns_string("cohort/source", real.data.path);
  wr.commit();
  sum.affected_type = types[size_t(affected)];
  sum.n_cells = out.n_rows;
  sum.n_de_genes = n_de;
  return sum;
}

}  // namespace cuvi::workflow
