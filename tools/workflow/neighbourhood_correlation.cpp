// Neighbourhood marker correlation (regularizedvi.md §2; regularizedvi.plt._neighbourhood_correlation): masks
// of the k-NN connectivities, per-cell Pearson correlation with the weighted-average neighbour ("approach B")
// and per-neighbour correlations aggregated per cell ("approach A"), and the headline summary.
#include "tools/workflow/neighbourhood_correlation.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>

#include "engine/error.h"

namespace cuvi::workflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Marker counts scaled by G / total (float32 arithmetic, as the reference), one sparse row per cell.
struct MarkerRows {
  int64_t n = 0, m = 0;
  std::vector<int64_t> ptr;
  std::vector<int32_t> col;
  std::vector<float> val;
  std::vector<double> mean, std_;  // per cell over the m markers
};

MarkerRows marker_rows(const io::CsrMatrix& x, const std::vector<int32_t>& markers) {
  std::vector<int32_t> pos(size_t(x.n_cols), -1);
  for (size_t i = 0; i < markers.size(); ++i) {
    CUVI_CHECK(markers[i] >= 0 && markers[i] < x.n_cols, "neighbourhood correlation: marker index out of range");
    pos[size_t(markers[i])] = int32_t(i);
  }
  MarkerRows r;
  r.n = x.n_rows;
  r.m = int64_t(markers.size());
  r.ptr.assign(size_t(r.n + 1), 0);
  r.mean.resize(size_t(r.n));
  r.std_.resize(size_t(r.n));
  for (int64_t i = 0; i < r.n; ++i) {
    double total = 0;
    for (int64_t e = x.indptr[size_t(i)]; e < x.indptr[size_t(i + 1)]; ++e) total += double(x.data[size_t(e)]);
    const float scale = total > 0 ? float(double(x.n_cols) / double(float(total))) : 0.f;
    std::vector<std::pair<int32_t, float>> row;
    for (int64_t e = x.indptr[size_t(i)]; e < x.indptr[size_t(i + 1)]; ++e) {
      const int32_t p = pos[size_t(x.indices[size_t(e)])];
      const float v = x.data[size_t(e)] * scale;
      if (p >= 0 && v != 0.f) row.emplace_back(p, v);
    }
    std::sort(row.begin(), row.end());
    double s = 0, s2 = 0;
    for (const auto& [p, v] : row) {
      r.col.push_back(p);
      r.val.push_back(v);
      s += double(v);
      s2 += double(v) * double(v);
    }
    r.ptr[size_t(i + 1)] = int64_t(r.col.size());
    const double mean = s / double(r.m);
    r.mean[size_t(i)] = mean;
    r.std_[size_t(i)] = std::sqrt(std::max(s2 / double(r.m) - mean * mean, 1e-12));
  }
  return r;
}

double sparse_dot(const MarkerRows& r, int64_t i, int64_t j) {
  int64_t a = r.ptr[size_t(i)], ae = r.ptr[size_t(i + 1)], b = r.ptr[size_t(j)], be = r.ptr[size_t(j + 1)];
  double s = 0;
  while (a < ae && b < be) {
    if (r.col[size_t(a)] < r.col[size_t(b)]) {
      ++a;
    } else if (r.col[size_t(b)] < r.col[size_t(a)]) {
      ++b;
    } else {
      s += double(r.val[size_t(a)]) * double(r.val[size_t(b)]);
      ++a;
      ++b;
    }
  }
  return s;
}

// Pearson correlation of each cell with the weighted average of its neighbours in the mask.
std::vector<double> corr_with_average(const MarkerRows& r, const io::CsrMatrix& mask) {
  std::vector<double> out(size_t(r.n), kNaN);
#pragma omp parallel
  {
    std::vector<double> avg(size_t(r.m));
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < r.n; ++i) {
      double wsum = 0;
      std::fill(avg.begin(), avg.end(), 0.0);
      for (int64_t e = mask.indptr[size_t(i)]; e < mask.indptr[size_t(i + 1)]; ++e) {
        const int64_t j = mask.indices[size_t(e)];
        const double w = double(mask.data[size_t(e)]);
        wsum += w;
        for (int64_t q = r.ptr[size_t(j)]; q < r.ptr[size_t(j + 1)]; ++q) avg[size_t(r.col[size_t(q)])] += w * r.val[size_t(q)];
      }
      if (wsum == 0) continue;  // no neighbour in the mask
      double sa = 0, sa2 = 0, cross = 0;
      for (double& v : avg) {
        v /= wsum;
        sa += v;
        sa2 += v * v;
      }
      for (int64_t q = r.ptr[size_t(i)]; q < r.ptr[size_t(i + 1)]; ++q) cross += double(r.val[size_t(q)]) * avg[size_t(r.col[size_t(q)])];
      const double M = double(r.m), mean_a = sa / M;
      const double std_a = std::sqrt(std::max(sa2 / M - mean_a * mean_a, 1e-12));
      const double std_x = r.std_[size_t(i)];
      if (std_x < 1e-6 || std_a < 1e-6) continue;
      out[size_t(i)] = (cross / M - r.mean[size_t(i)] * mean_a) / (std_x * std_a);
    }
  }
  return out;
}

double median_of(std::vector<double> v) {  // v: finite values, non-empty
  const size_t n = v.size(), h = n / 2;
  std::nth_element(v.begin(), v.begin() + long(h), v.end());
  const double hi = v[h];
  if (n % 2) return hi;
  return 0.5 * (*std::max_element(v.begin(), v.begin() + long(h)) + hi);
}

// Value at which the cumulative weight (values ascending) first reaches half the total.
double weighted_median(const std::vector<double>& v, const std::vector<double>& w) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> cw(v.size());
  double acc = 0;
  for (size_t i = 0; i < order.size(); ++i) cw[i] = acc += w[order[i]];
  const double half = 0.5 * cw.back();
  const size_t idx = size_t(std::lower_bound(cw.begin(), cw.end(), half) - cw.begin());
  return v[order[std::min(idx, v.size() - 1)]];
}

struct Aggregates {
  std::vector<double> mean, median, wmean, wmedian, std_, cv;
};

// Per-neighbour correlations aggregated per cell.
Aggregates corr_per_neighbour(const MarkerRows& r, const io::CsrMatrix& mask) {
  Aggregates a;
  for (auto* v : {&a.mean, &a.median, &a.wmean, &a.wmedian, &a.std_, &a.cv}) v->assign(size_t(r.n), kNaN);
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < r.n; ++i) {
    std::vector<double> rv, wv;
    for (int64_t e = mask.indptr[size_t(i)]; e < mask.indptr[size_t(i + 1)]; ++e) {
      const int64_t j = mask.indices[size_t(e)];
      const double si = r.std_[size_t(i)], sj = r.std_[size_t(j)];
      if (!(si > 1e-6 && sj > 1e-6)) continue;
      rv.push_back((sparse_dot(r, i, j) / double(r.m) - r.mean[size_t(i)] * r.mean[size_t(j)]) / (si * sj));
      wv.push_back(double(mask.data[size_t(e)]));
    }
    if (rv.empty()) continue;
    const double n = double(rv.size());
    double s = 0, ws = 0, wsum = 0;
    for (size_t q = 0; q < rv.size(); ++q) {
      s += rv[q];
      ws += rv[q] * wv[q];
      wsum += wv[q];
    }
    const double mean = s / n;
    a.mean[size_t(i)] = mean;
    a.median[size_t(i)] = median_of(rv);
    if (wsum > 0) {
      a.wmean[size_t(i)] = ws / wsum;
      a.wmedian[size_t(i)] = weighted_median(rv, wv);
    }
    if (rv.size() > 1) {
      double ss = 0;
      for (double v : rv) ss += (v - mean) * (v - mean);
      a.std_[size_t(i)] = std::sqrt(ss / n);
      if (std::abs(mean) > 1e-12) a.cv[size_t(i)] = a.std_[size_t(i)] / std::abs(mean);
    } else {
      a.std_[size_t(i)] = 0.0;
    }
  }
  return a;
}

io::CsrMatrix filtered(const io::CsrMatrix& conn, const std::function<bool(int64_t, int64_t)>& keep) {
  io::CsrMatrix m;
  m.n_rows = conn.n_rows;
  m.n_cols = conn.n_cols;
  m.indptr.assign(size_t(conn.n_rows + 1), 0);
  for (int64_t i = 0; i < conn.n_rows; ++i) {
    for (int64_t e = conn.indptr[size_t(i)]; e < conn.indptr[size_t(i + 1)]; ++e) {
      const int64_t j = conn.indices[size_t(e)];
      if (j == i || conn.data[size_t(e)] == 0.f || !keep(i, j)) continue;
      m.indices.push_back(int32_t(j));
      m.data.push_back(conn.data[size_t(e)]);
    }
    m.indptr[size_t(i + 1)] = int64_t(m.data.size());
  }
  return m;
}

std::vector<double> row_counts(const io::CsrMatrix& m) {
  std::vector<double> n(size_t(m.n_rows));
  for (int64_t i = 0; i < m.n_rows; ++i) n[size_t(i)] = double(m.indptr[size_t(i + 1)] - m.indptr[size_t(i)]);
  return n;
}

double nanmedian(const std::vector<double>& v) {
  std::vector<double> f;
  for (double x : v)
    if (!std::isnan(x)) f.push_back(x);
  return f.empty() ? kNaN : median_of(f);
}

// Median of the column over cells with at least min_neighbours neighbours in the mask.
double filtered_median(const ResultTable& t, const std::string& mask, int64_t min_neighbours) {
  const auto& vals = t.at("corr_avg_" + mask).num;
  const auto& nn = t.at("n_neighbours_" + mask).num;
  std::vector<double> v;
  for (size_t i = 0; i < vals.size(); ++i)
    if (nn[i] >= double(min_neighbours)) v.push_back(vals[i]);
  return nanmedian(v);
}

// numpy.histogram over [-1, 1] in 50 bins, then the overlap coefficient sum min(p_x, p_y).
double distribution_overlap(const std::vector<double>& x, const std::vector<double>& y) {
  constexpr int kBins = 50;
  double edges[kBins + 1];
  for (int i = 0; i <= kBins; ++i) edges[i] = double(i) * (2.0 / kBins) + -1.0;
  edges[kBins] = 1.0;
  auto hist = [&](const std::vector<double>& v, double* total) {
    std::vector<double> h(kBins, 0.0);
    *total = 0;
    for (double a : v) {
      if (std::isnan(a) || a < -1.0 || a > 1.0) continue;
      int64_t idx = int64_t(((a - -1.0) / 2.0) * kBins);
      if (idx == kBins) idx -= 1;
      if (a < edges[idx]) idx -= 1;
      if (a >= edges[idx + 1] && idx != kBins - 1) idx += 1;
      h[size_t(idx)] += 1;
      *total += 1;
    }
    return h;
  };
  double sx = 0, sy = 0;
  const auto hx = hist(x, &sx), hy = hist(y, &sy);
  if (sx == 0 || sy == 0) return 0.0;
  double ovl = 0;
  for (int b = 0; b < kBins; ++b) ovl += std::min(hx[size_t(b)] / sx, hy[size_t(b)] / sy);
  return ovl;
}

// Observed isolation fraction over the expected one under random neighbours (compute_isolation_norm) for
// cross_library (p = (n_dataset - n_library) / (N - 1)) and cross_dataset (p = (N - n_dataset) / (N - 1)).
double isolation_norm(const ResultTable& t, const NeighbourhoodCovariates& c, const std::string& mask) {
  const auto& n_mask = t.at("n_neighbours_" + mask).num;
  const auto& degree = t.at("n_neighbours_total").num;
  const int64_t N = int64_t(n_mask.size());
  if (N == 0) return kNaN;
  auto sizes = [&](const std::vector<int32_t>& codes) {
    std::map<int32_t, double> count;
    for (int32_t v : codes)
      if (v >= 0) count[v] += 1;
    std::vector<double> s(codes.size(), kNaN);
    for (size_t i = 0; i < codes.size(); ++i)
      if (codes[i] >= 0) s[i] = count[codes[i]];
    return s;
  };
  const std::vector<double> n_ds = sizes(c.dataset);
  const std::vector<double> n_lib = mask == "cross_library" ? sizes(c.library) : std::vector<double>();
  double expected = 0, observed = 0;
  int64_t valid = 0;
  for (int64_t i = 0; i < N; ++i) {
    const bool missing = c.dataset[size_t(i)] < 0 || (mask == "cross_library" && c.library[size_t(i)] < 0);
    if (missing) continue;
    double p = mask == "cross_library" ? (n_ds[size_t(i)] - n_lib[size_t(i)]) / double(N - 1)
                                       : (double(N) - n_ds[size_t(i)]) / double(N - 1);
    p = std::clamp(p, 0.0, 1.0);
    expected += std::pow(1.0 - p, degree[size_t(i)]);
    observed += n_mask[size_t(i)] == 0 ? 1.0 : 0.0;
    ++valid;
  }
  if (valid == 0) return kNaN;
  expected /= double(valid);
  if (!std::isfinite(expected) || expected == 0.0) return kNaN;
  return (observed / double(valid)) / expected;
}

double nan_weighted(const std::vector<double>& v, const std::vector<double>& w) {
  double num = 0, den = 0;
  bool any = false;
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isnan(v[i])) {
      num += v[i] * w[i];
      den += w[i];
      any = true;
    }
  if (!any || den == 0) return kNaN;
  return num / den;
}

void add_column(ResultTable& t, const std::string& name, std::vector<double> v) {
  ResultColumn& col = t.add(name, ResultColumn::F64);
  col.num = std::move(v);
}

}  // namespace

void validate_covariate_hierarchy(const NeighbourhoodCovariates& c, const std::vector<std::string>& library_names,
                                  const std::vector<std::string>& dataset_names) {
  if (c.dataset_key.empty()) return;
  std::map<int32_t, std::vector<int32_t>> datasets;  // library -> datasets seen, in order
  for (size_t i = 0; i < c.library.size(); ++i) {
    if (c.library[i] < 0 || c.dataset[i] < 0) continue;
    auto& d = datasets[c.library[i]];
    if (std::find(d.begin(), d.end(), c.dataset[i]) == d.end()) d.push_back(c.dataset[i]);
  }
  for (const auto& [lib, ds] : datasets) {
    if (ds.size() < 2) continue;
    std::string names;
    for (int32_t d : ds) names += (names.empty() ? "" : ", ") + dataset_names.at(static_cast<size_t>(d));
    fail("covariate hierarchy violation: library '" + library_names.at(static_cast<size_t>(lib)) + "' of '" + c.library_key +
         "' spans several datasets of '" + c.dataset_key + "' (" + names + "); each library must map to one dataset");
  }
}

std::vector<std::string> active_masks(const NeighbourhoodCovariates& c) {
  std::vector<std::string> names{"same_library", "between_libraries"};
  if (!c.dataset_key.empty()) {
    names.push_back("cross_library");
    names.push_back("cross_dataset");
  }
  for (const std::string& k : c.technical_keys) {
    names.push_back("within_" + k);
    names.push_back("between_" + k);
  }
  if (!c.technical_keys.empty()) names.push_back("cross_technical");
  return names;
}

std::vector<io::CsrMatrix> neighbour_masks(const io::CsrMatrix& conn, const NeighbourhoodCovariates& c) {
  const auto& lib = c.library;
  std::vector<io::CsrMatrix> out;
  out.push_back(filtered(conn, [&](int64_t i, int64_t j) { return lib[size_t(i)] == lib[size_t(j)]; }));
  out.push_back(filtered(conn, [&](int64_t i, int64_t j) { return lib[size_t(i)] != lib[size_t(j)]; }));
  if (!c.dataset_key.empty()) {
    const auto& ds = c.dataset;
    out.push_back(filtered(conn, [&](int64_t i, int64_t j) {
      return lib[size_t(i)] != lib[size_t(j)] && ds[size_t(i)] == ds[size_t(j)];
    }));
    out.push_back(filtered(conn, [&](int64_t i, int64_t j) { return ds[size_t(i)] != ds[size_t(j)]; }));
  }
  for (const auto& t : c.technical) {
    out.push_back(filtered(conn, [&](int64_t i, int64_t j) { return t[size_t(i)] == t[size_t(j)]; }));
    out.push_back(filtered(conn, [&](int64_t i, int64_t j) { return t[size_t(i)] != t[size_t(j)]; }));
  }
  if (!c.technical.empty())
    out.push_back(filtered(conn, [&](int64_t i, int64_t j) {
      for (const auto& t : c.technical)
        if (t[size_t(i)] != t[size_t(j)]) return true;
      return false;
    }));
  return out;
}

ResultTable marker_correlation(const io::CsrMatrix& counts, const std::vector<int32_t>& markers,
                               const io::CsrMatrix& conn, const NeighbourhoodCovariates& c,
                               const std::vector<std::string>& obs_names) {
  const int64_t N = counts.n_rows;
  CUVI_CHECK(!markers.empty(), "neighbourhood correlation: no marker genes found among the data's genes");
  CUVI_CHECK(conn.n_rows == N && conn.n_cols == N, "neighbourhood correlation: the connectivities are " +
                                                       std::to_string(conn.n_rows) + " x " + std::to_string(conn.n_cols) +
                                                       ", the data has " + std::to_string(N) + " cells");
  CUVI_CHECK(int64_t(c.library.size()) == N, "neighbourhood correlation: library codes do not cover every cell");
  CUVI_CHECK(c.dataset_key.empty() || int64_t(c.dataset.size()) == N,
             "neighbourhood correlation: dataset codes do not cover every cell");
  const MarkerRows r = marker_rows(counts, markers);
  const io::CsrMatrix all = filtered(conn, [](int64_t, int64_t) { return true; });
  const std::vector<io::CsrMatrix> masks = neighbour_masks(conn, c);
  const std::vector<std::string> names = active_masks(c);

  ResultTable t;
  t.index = obs_names;
  const std::vector<double> n_total = row_counts(all);
  add_column(t, "n_neighbours_total", n_total);
  std::vector<double> total_expr(size_t(N), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    float s = 0;  // float32 sum like the reference's sparse row sum
    for (int64_t q = r.ptr[size_t(i)]; q < r.ptr[size_t(i + 1)]; ++q) s += r.val[size_t(q)];
    total_expr[size_t(i)] = double(s);
  }
  add_column(t, "marker_gene_total_expression", total_expr);
  const std::vector<double> corr_all = corr_with_average(r, all);
  add_column(t, "corr_avg_all_neighbours", corr_all);
  add_column(t, "corr_weighted_mean_all_neighbours", corr_per_neighbour(r, all).wmean);
  std::vector<std::vector<double>> corr_avg(names.size());
  for (size_t m = 0; m < names.size(); ++m) {
    const std::string& k = names[m];
    const std::vector<double> nn = row_counts(masks[m]);
    std::vector<double> frac(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) frac[size_t(i)] = n_total[size_t(i)] > 0 ? nn[size_t(i)] / n_total[size_t(i)] : kNaN;
    add_column(t, "n_neighbours_" + k, nn);
    add_column(t, "frac_neighbours_" + k, frac);
    corr_avg[m] = corr_with_average(r, masks[m]);
    add_column(t, "corr_avg_" + k, corr_avg[m]);
    Aggregates a = corr_per_neighbour(r, masks[m]);
    std::vector<double> disc(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) disc[size_t(i)] = corr_avg[m][size_t(i)] - a.mean[size_t(i)];
    add_column(t, "corr_mean_" + k, std::move(a.mean));
    add_column(t, "corr_median_" + k, std::move(a.median));
    add_column(t, "corr_weighted_mean_" + k, std::move(a.wmean));
    add_column(t, "corr_weighted_median_" + k, std::move(a.wmedian));
    add_column(t, "corr_std_" + k, std::move(a.std_));
    add_column(t, "corr_cv_" + k, std::move(a.cv));
    add_column(t, "corr_discrepancy_" + k, std::move(disc));
  }
  const std::vector<double>& same_lib = corr_avg[0];
  auto ratio = [&](const std::vector<double>& num, const std::vector<double>& den) {
    std::vector<double> v(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) v[size_t(i)] = std::abs(den[size_t(i)]) > 1e-12 ? num[size_t(i)] / den[size_t(i)] : kNaN;
    return v;
  };
  for (size_t m = 0; m < names.size(); ++m) {
    add_column(t, "corr_norm_by_library_" + names[m], ratio(corr_avg[m], same_lib));
    add_column(t, "corr_norm_by_all_" + names[m], ratio(corr_avg[m], corr_all));
  }
  return t;
}

ResultTable summarise_marker_correlation(const ResultTable& t, const NeighbourhoodCovariates& c,
                                         int64_t min_neighbours) {
  std::vector<std::pair<std::string, double>> h;
  const double within = nanmedian(t.at("corr_avg_same_library").num);
  h.emplace_back("corr_within_library", within);
  h.emplace_back("corr_consistency", nanmedian(t.at("corr_std_same_library").num));
  const bool has_ds = !c.dataset_key.empty();
  for (const char* level : {"library", "dataset"}) {
    const std::string mask = std::string("cross_") + level;
    if (!has_ds) {
      for (const char* p : {"corr_cross_", "corr_gap_", "isolation_norm_cross_", "discrepancy_cross_",
                            "distrib_overlap_"})
        h.emplace_back(p + std::string(level), kNaN);
      continue;
    }
    const double cross = filtered_median(t, mask, min_neighbours);
    h.emplace_back("corr_cross_" + std::string(level), cross);
    h.emplace_back("corr_gap_" + std::string(level), within - cross);
    h.emplace_back("isolation_norm_" + mask, isolation_norm(t, c, mask));
    h.emplace_back("discrepancy_" + mask, nanmedian(t.at("corr_discrepancy_" + mask).num));
    h.emplace_back("distrib_overlap_" + std::string(level),
                   distribution_overlap(t.at("corr_avg_same_library").num, t.at("corr_avg_" + mask).num));
  }
  h.emplace_back("cross_technical_correlation",
                 c.technical_keys.empty() ? kNaN : filtered_median(t, "cross_technical", min_neighbours));
  // compute_composite_score: NaN components skipped, remaining weights renormalised.
  std::map<std::string, double> v(h.begin(), h.end());
  auto inv = [](double x) { return std::isnan(x) ? kNaN : 1.0 - std::clamp(x, 0.0, 2.0); };
  const double lib = nan_weighted({v["corr_cross_library"], inv(v["isolation_norm_cross_library"]),
                                   v["distrib_overlap_library"]},
                                  {0.4, 0.3, 0.3});
  double ds = kNaN, batch = lib;
  if (has_ds) {
    ds = nan_weighted({v["corr_cross_dataset"], inv(v["isolation_norm_cross_dataset"]), v["distrib_overlap_dataset"]},
                      {0.4, 0.3, 0.3});
    batch = nan_weighted({lib, ds}, {0.5, 0.5});
  }
  h.emplace_back("bio_conservation", within);
  h.emplace_back("library_integration", lib);
  h.emplace_back("dataset_integration", ds);
  h.emplace_back("batch_correction", batch);
  h.emplace_back("total", nan_weighted({within, batch}, {0.6, 0.4}));

  ResultTable out;
  out.index_name = "metric";
  ResultColumn& col = out.add("value", ResultColumn::F64);
  for (const auto& [name, value] : h) {
    out.index.push_back(name);
    col.num.push_back(value);
  }
  return out;
}

std::vector<int32_t> top_variable_markers(const io::CsrMatrix& x, int64_t n) {
  CUVI_CHECK(n > 0, "--n-markers must be positive");
  const int64_t G = x.n_cols, N = x.n_rows;
  std::vector<double> s(size_t(G), 0.0), s2(size_t(G), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    double total = 0;
    for (int64_t e = x.indptr[size_t(i)]; e < x.indptr[size_t(i + 1)]; ++e) total += double(x.data[size_t(e)]);
    if (total <= 0) continue;
    for (int64_t e = x.indptr[size_t(i)]; e < x.indptr[size_t(i + 1)]; ++e) {
      const double v = double(x.data[size_t(e)]) * double(G) / total;
      s[size_t(x.indices[size_t(e)])] += v;
      s2[size_t(x.indices[size_t(e)])] += v * v;
    }
  }
  std::vector<int32_t> order(static_cast<size_t>(G));
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> var(static_cast<size_t>(G));
  for (int64_t g = 0; g < G; ++g) {
    const double m = s[size_t(g)] / double(N);
    var[size_t(g)] = s2[size_t(g)] / double(N) - m * m;
  }
  const int64_t k = std::min(n, G);
  std::partial_sort(order.begin(), order.begin() + long(k), order.end(), [&](int32_t a, int32_t b) {
    return var[size_t(a)] != var[size_t(b)] ? var[size_t(a)] > var[size_t(b)] : a < b;
  });
  order.resize(static_cast<size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace cuvi::workflow
