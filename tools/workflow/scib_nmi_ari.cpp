// NMI and ARI from the contingency table (double sums, as scikit-learn), k-means and Leiden drivers.
#include "tools/workflow/scib_nmi_ari.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "engine/error.h"
#include "tools/workflow/kmeans.h"
#include "tools/workflow/leiden.h"

namespace cuvi::workflow {
namespace {

struct Contingency {
  double n = 0;
  std::map<std::pair<int32_t, int32_t>, double> cells;
  std::map<int32_t, double> rows, cols;
};

Contingency contingency(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  CUVI_CHECK(a.size() == b.size(), "clustering scores need two labelings of the same cells");
  Contingency c;
  c.n = double(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    c.cells[{a[i], b[i]}] += 1;
    c.rows[a[i]] += 1;
    c.cols[b[i]] += 1;
  }
  return c;
}

double entropy(const std::map<int32_t, double>& counts, double n) {
  double h = 0;
  for (const auto& [k, v] : counts) h -= (v / n) * (std::log(v) - std::log(n));
  return h;
}

}  // namespace

double nmi_score(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const Contingency c = contingency(a, b);
  if ((c.rows.size() == 1 && c.cols.size() == 1) || c.rows.empty()) return 1.0;
  double mi = 0;
  const double log_n = std::log(c.n);
  for (const auto& [ij, v] : c.cells)  // p_ij log(p_ij / (p_i p_j)), terms below machine epsilon dropped
  {
    const double term = (v / c.n) * (std::log(v) + log_n - std::log(c.rows.at(ij.first)) - std::log(c.cols.at(ij.second)));
    if (std::fabs(term) >= 2.220446049250313e-16) mi += term;
  }
  mi = std::max(mi, 0.0);
  if (mi == 0) return 0.0;
  const double norm = (entropy(c.rows, c.n) + entropy(c.cols, c.n)) / 2;
  return mi / norm;
}

double ari_score(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const Contingency c = contingency(a, b);
  // sklearn's pair confusion matrix (ordered pairs).
  double sum_sq = 0, row_sq = 0, col_sq = 0;
  for (const auto& [ij, v] : c.cells) sum_sq += v * v;
  for (const auto& [k, v] : c.rows) row_sq += v * v;
  for (const auto& [k, v] : c.cols) col_sq += v * v;
  // Counts are exact in double below 2^53; the products in long double (64-bit mantissa) as Python's integers.
  const long double tp = sum_sq - c.n, fp = col_sq - sum_sq, fn = row_sq - sum_sq;
  const long double tn = (long double)c.n * c.n - fp - fn - sum_sq;
  if (fn == 0 && fp == 0) return 1.0;
  return double(2.0L * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)));
}

NmiAri kmeans_nmi_ari(Backend& backend, const float* x, int64_t n, int64_t d, const std::vector<int32_t>& labels,
                      int32_t n_labels, uint64_t seed) {
  KMeansOptions o;
  o.n_clusters = n_labels;
  o.seed = seed;
  const KMeansResult km = kmeans(backend, x, n, d, o);
  return {nmi_score(labels, km.labels), ari_score(labels, km.labels)};
}

NmiAri leiden_nmi_ari(const io::CsrMatrix& connectivities, const std::vector<int32_t>& labels, uint64_t seed) {
  NmiAri best{-1, 0};
  for (int r = 1; r <= 10; ++r) {
    LeidenOptions o;
    o.resolution = 2.0 * r / 10;
    o.seed = seed;
    const LeidenResult l = leiden(connectivities, o);
    const NmiAri s{nmi_score(labels, l.membership), ari_score(labels, l.membership)};
    if (s.nmi > best.nmi) best = s;  // the first of equal NMIs, as np.argmax
  }
  return best;
}

}  // namespace cuvi::workflow
