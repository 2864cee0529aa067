// Silhouette metrics: rows grouped by code, one pass of per-group distance sums, then the per-cell formula.
#include "tools/workflow/scib_silhouette.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "engine/error.h"
#include "tools/workflow/label_codes.h"

namespace cuvi::workflow {

std::vector<double> silhouette_samples(Backend& backend, const float* x, int64_t n, int64_t d,
                                       const std::vector<int32_t>& codes, int32_t n_groups, PairDistance metric,
                                       BetweenClusters between) {
  CUVI_CHECK(int64_t(codes.size()) == n, "silhouette: one group code per cell is needed");
  const RowGroups g = group_rows(codes, n_groups);
  const std::vector<float> grouped = take_rows(x, d, g.order);
  const std::vector<double> sums = segment_distance_sums(backend, grouped.data(), n, d, g.seg, metric);
  std::vector<double> freq(static_cast<size_t>(n_groups));
  for (int32_t c = 0; c < n_groups; ++c) freq[size_t(c)] = double(g.seg[size_t(c + 1)] - g.seg[size_t(c)]);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const int64_t row = g.order[size_t(r)];
    const int32_t own = codes[size_t(row)];
    const double* s = &sums[size_t(r * n_groups)];
    const double intra = s[own] / (freq[size_t(own)] - 1);
    double inter;
    if (between == BetweenClusters::Nearest) {
      inter = std::numeric_limits<double>::infinity();
      for (int32_t c = 0; c < n_groups; ++c)
        if (c != own) inter = std::min(inter, s[c] / freq[size_t(c)]);
    } else {
      double total = 0;
      for (int32_t c = 0; c < n_groups; ++c)
        if (c != own) total += s[c];
      inter = total / (double(n) - freq[size_t(own)]);
    }
    const double v = (inter - intra) / std::max(intra, inter);
    out[size_t(row)] = std::isnan(v) ? 0.0 : v;  // NaN from 0/0 or inf/inf, as jnp.nan_to_num
  }
  return out;
}

double silhouette_label_score(const std::vector<double>& samples) {
  double s = 0;
  for (double v : samples) s += v;
  return (s / double(samples.size()) + 1) / 2;
}

double isolated_labels_score(const std::vector<double>& label_samples, const std::vector<int32_t>& labels,
                             int32_t n_labels, const std::vector<int32_t>& batches, int32_t n_batches) {
  std::vector<std::set<int32_t>> batches_of(static_cast<size_t>(n_labels));
  for (size_t i = 0; i < labels.size(); ++i) batches_of[size_t(labels[i])].insert(batches[i]);
  size_t threshold = size_t(n_batches);
  for (const auto& b : batches_of) threshold = std::min(threshold, b.size());
  double total = 0;
  int n_isolated = 0;
  for (int32_t l = 0; l < n_labels; ++l) {
    if (batches_of[size_t(l)].size() > threshold) continue;
    double s = 0;
    int64_t m = 0;
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == l) {
        s += (label_samples[i] + 1) / 2;
        ++m;
      }
    total += s / double(m);
    ++n_isolated;
  }
  return total / double(n_isolated);
}

double silhouette_batch_score(Backend& backend, const float* x, int64_t n, int64_t d, const std::vector<int32_t>& labels,
                              int32_t n_labels, const std::vector<int32_t>& batches, PairDistance metric,
                              BetweenClusters between) {
  const RowGroups g = group_rows(labels, n_labels);
  double total = 0;
  int n_used = 0;
  for (int32_t l = 0; l < n_labels; ++l) {
    const std::vector<int64_t> rows(g.order.begin() + g.seg[size_t(l)], g.order.begin() + g.seg[size_t(l + 1)]);
    std::vector<int32_t> sub(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) sub[r] = batches[size_t(rows[r])];
    int32_t n_sub = 0;
    const std::vector<int32_t> codes = compact_codes(sub, &n_sub, "batch");
    if (n_sub == 1 || n_sub == int32_t(rows.size())) continue;
    const std::vector<float> xs = take_rows(x, d, rows);
    const std::vector<double> sil =
        silhouette_samples(backend, xs.data(), int64_t(rows.size()), d, codes, n_sub, metric, between);
    double s = 0;
    for (double v : sil) s += 1 - std::fabs(v);
    total += s / double(sil.size());
    ++n_used;
  }
  CUVI_CHECK(n_used > 0, "silhouette batch is undefined: every label holds a single batch (or as many batches as cells)");
  return total / double(n_used);
}

}  // namespace cuvi::workflow
