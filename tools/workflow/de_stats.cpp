// DE statistics (scvi-multivi.md §3.3-§3.6). Sample values stay float32 where scvi's numpy arrays
// are float32 (scales, log-ratios, comparisons against delta); sums use double accumulators.
#include "tools/workflow/de_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/error.h"

namespace cuvi::workflow {
namespace {

constexpr double kEps = 1e-8;   // scvi's fixed eps of the Bayes factors
constexpr int64_t kBlock = 64;  // genes per block when samples are transposed gene-major

// A float32 product rounded before any later addition (numpy multiplies and sums in separate
// passes; the volatile keeps the compiler from contracting a * b + c into one fused operation).
inline float mul_f32(float a, float b) {
  volatile float p = a * b;
  return p;
}

// Copies genes [g0, g0 + nb) of every paired row into gene-major buffers (nb, n).
void gather_block(const PairedScales& p, int64_t g0, int64_t nb, std::vector<float>* a, std::vector<float>* b) {
  const int64_t n = p.n();
  a->resize(nb * n);
  b->resize(nb * n);
  for (int64_t i = 0; i < n; ++i) {
    const float* r1 = p.s1[i] + g0;
    const float* r2 = p.s2[i] + g0;
    for (int64_t k = 0; k < nb; ++k) {
      (*a)[k * n + i] = r1[k];
      (*b)[k * n + i] = r2[k];
    }
  }
}

void check_pairs(const PairedScales& p) {
  CUVI_CHECK(p.s1.size() == p.s2.size() && !p.s1.empty(), "DE needs the same, non-zero number of samples per side");
  CUVI_CHECK(p.G > 0, "DE needs at least one gene");
}

}  // namespace

void scale_moments(const std::vector<const float*>& rows, int64_t G, std::vector<double>* mean,
                   std::vector<double>* sd) {
  const double n = double(rows.size());
  std::vector<double> s1(G, 0.0), s2(G, 0.0);
  for (const float* r : rows)
    for (int64_t g = 0; g < G; ++g) s1[g] += r[g];
  mean->assign(G, 0.0);
  for (int64_t g = 0; g < G; ++g) (*mean)[g] = n > 0 ? s1[g] / n : NAN;
  if (!sd) return;
  for (const float* r : rows)
    for (int64_t g = 0; g < G; ++g) {
      const double d = r[g] - (*mean)[g];
      s2[g] += d * d;
    }
  sd->assign(G, 0.0);
  for (int64_t g = 0; g < G; ++g) (*sd)[g] = n > 0 ? std::sqrt(s2[g] / n) : NAN;
}

VanillaStats vanilla_stats(const PairedScales& p) {
  check_pairs(p);
  const int64_t n = p.n(), G = p.G;
  std::vector<int64_t> wins(G, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t g = 0; g < G; ++g) wins[g] += p.s1[i][g] > p.s2[i][g];
  VanillaStats v;
  v.proba_m1.resize(G);
  v.proba_m2.resize(G);
  v.bayes_factor.resize(G);
  for (int64_t g = 0; g < G; ++g) {
    v.proba_m1[g] = double(wins[g]) / double(n);
    v.proba_m2[g] = 1.0 - v.proba_m1[g];
    v.bayes_factor[g] = std::log(v.proba_m1[g] + kEps) - std::log(v.proba_m2[g] + kEps);
  }
  return v;
}

namespace {

// Per-gene mean over the samples of r_i = log2(s1_i + pc) - log2(s2_i + pc) (float32 terms).
std::vector<double> change_means(const PairedScales& p, float pcf) {
  const int64_t n = p.n(), G = p.G;
  std::vector<double> mean(size_t(G), 0.0);
  const int64_t n_blocks = (G + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    const int64_t g0 = blk * kBlock, nb = std::min(kBlock, G - g0);
    std::vector<float> a, b;
    gather_block(p, g0, nb, &a, &b);
    for (int64_t k = 0; k < nb; ++k) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += std::log2(a[k * n + i] + pcf) - std::log2(b[k * n + i] + pcf);
      mean[size_t(g0 + k)] = s / double(n);
    }
  }
  return mean;
}

}  // namespace

ChangeStats change_stats(const PairedScales& p, double pc, std::optional<double> delta, double lfc_pc,
                         bool two_sided_sum) {
  check_pairs(p);
  const int64_t n = p.n(), G = p.G;
  ChangeStats c;
  for (auto* v : {&c.proba_m1, &c.proba_m2, &c.proba_de, &c.proba_not_de, &c.bayes_factor, &c.lfc_mean, &c.lfc_median,
                  &c.lfc_std, &c.lfc_min, &c.lfc_max})
    v->assign(G, 0.0);
  const float pcf = float(pc), lpcf = float(lfc_pc);
  c.delta = delta ? *delta : estimate_delta(change_means(p, pcf));
  const float df = float(c.delta);
  const int64_t n_blocks = (G + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    const int64_t g0 = blk * kBlock, nb = std::min(kBlock, G - g0);
    std::vector<float> a, b, r(n);
    gather_block(p, g0, nb, &a, &b);
    for (int64_t k = 0; k < nb; ++k) {
      const float* x = a.data() + k * n;
      const float* y = b.data() + k * n;
      int64_t plus = 0, minus = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float ri = std::log2(x[i] + pcf) - std::log2(y[i] + pcf);
        plus += ri >= df;
        minus += ri < -df;
      }
      double s = 0, mn = INFINITY, mx = -INFINITY;
      for (int64_t i = 0; i < n; ++i) {
        r[i] = std::log2(x[i] + lpcf) - std::log2(y[i] + lpcf);
        s += r[i];
        mn = std::min(mn, double(r[i]));
        mx = std::max(mx, double(r[i]));
      }
      const double mean = s / double(n);
      double ss = 0;
      for (int64_t i = 0; i < n; ++i) ss += (r[i] - mean) * (r[i] - mean);
      // Median: the middle value, or the mean of the two middle values for even n (numpy).
      const int64_t h = n / 2;
      std::nth_element(r.begin(), r.begin() + h, r.end());
      double med = r[h];
      if (n % 2 == 0) med = 0.5 * (double(*std::max_element(r.begin(), r.begin() + h)) + med);
      const int64_t g = g0 + k;
      c.proba_m1[g] = double(plus) / double(n);
      c.proba_m2[g] = double(minus) / double(n);
      c.proba_de[g] = two_sided_sum ? c.proba_m1[g] + c.proba_m2[g] : std::max(c.proba_m1[g], c.proba_m2[g]);
      c.proba_not_de[g] = 1.0 - c.proba_de[g];
      c.bayes_factor[g] = std::log(c.proba_de[g] + kEps) - std::log(1.0 - c.proba_de[g] + kEps);
      c.lfc_mean[g] = mean;
      c.lfc_median[g] = med;
      c.lfc_std[g] = std::sqrt(ss / double(n));
      c.lfc_min[g] = mn;
      c.lfc_max[g] = mx;
    }
  }
  return c;
}

double estimate_delta(const std::vector<double>& x, double coef, double min_thres) {
  constexpr int K = 3;
  constexpr double kRegCovar = 1e-6, kTol = 1e-3, kLog2Pi = 1.8378770664093453;
  constexpr int kMaxIter = 100;
  const size_t n = x.size();
  CUVI_CHECK(n >= size_t(K), "estimating delta needs at least 3 genes");
  for (double v : x) CUVI_CHECK(std::isfinite(v), "estimating delta: a gene's mean log fold change is not finite");
  // k-means from the 1/6, 1/2, 5/6 quantiles to a fixed point (or 300 rounds), then hard responsibilities.
  double mu[K] = {quantile_linear(x, 1.0 / 6), quantile_linear(x, 0.5), quantile_linear(x, 5.0 / 6)};
  std::vector<int> label(n, -1);
  for (int round = 0; round < 300; ++round) {
    bool moved = false;
    double sum[K] = {}, cnt[K] = {};
    for (size_t i = 0; i < n; ++i) {
      int best = 0;
      for (int k = 1; k < K; ++k)
        if (std::fabs(x[i] - mu[k]) < std::fabs(x[i] - mu[best])) best = k;
      moved |= best != label[i];
      label[i] = best;
      sum[best] += x[i];
      cnt[best] += 1;
    }
    for (int k = 0; k < K; ++k)
      if (cnt[k] > 0) mu[k] = sum[k] / cnt[k];
    if (!moved) break;
  }
  // M-step of sklearn (nk + 10 eps, variance + reg_covar) from responsibilities resp (n, K).
  std::vector<double> resp(n * K, 0.0);
  for (size_t i = 0; i < n; ++i) resp[i * K + size_t(label[i])] = 1.0;
  double w[K], var[K];
  auto m_step = [&] {
    for (int k = 0; k < K; ++k) {
      double nk = 10 * std::numeric_limits<double>::epsilon(), sx = 0;
      for (size_t i = 0; i < n; ++i) {
        nk += resp[i * K + size_t(k)];
        sx += resp[i * K + size_t(k)] * x[i];
      }
      mu[k] = sx / nk;
      double sv = 0;
      for (size_t i = 0; i < n; ++i) sv += resp[i * K + size_t(k)] * (x[i] - mu[k]) * (x[i] - mu[k]);
      var[k] = sv / nk + kRegCovar;
      w[k] = nk / double(n);
    }
  };
  m_step();
  double lower_bound = -std::numeric_limits<double>::infinity();
  for (int iter = 0; iter < kMaxIter; ++iter) {
    const double previous = lower_bound;
    double total = 0;  // E-step: responsibilities and the mean log-likelihood
    for (size_t i = 0; i < n; ++i) {
      double lp[K], mx = -std::numeric_limits<double>::infinity();
      for (int k = 0; k < K; ++k) {
        lp[k] = std::log(w[k]) - 0.5 * (kLog2Pi + std::log(var[k]) + (x[i] - mu[k]) * (x[i] - mu[k]) / var[k]);
        mx = std::max(mx, lp[k]);
      }
      double se = 0;
      for (int k = 0; k < K; ++k) se += std::exp(lp[k] - mx);
      const double norm = mx + std::log(se);
      for (int k = 0; k < K; ++k) resp[i * K + size_t(k)] = std::exp(lp[k] - norm);
      total += norm;
    }
    lower_bound = total / double(n);
    m_step();
    if (std::fabs(lower_bound - previous) < kTol) break;
  }
  std::sort(mu, mu + K);
  return std::max(min_thres, coef * 0.5 * (std::fabs(mu[0]) + std::fabs(mu[K - 1])));
}

double quantile_linear(std::vector<double> v, double q) {
  CUVI_CHECK(!v.empty(), "quantile of an empty set");
  std::sort(v.begin(), v.end());
  const double h = (double(v.size()) - 1.0) * q;
  const size_t lo = size_t(std::floor(h));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double t = h - double(lo), a = v[lo], b = v[hi];
  // numpy's _lerp: a + (b - a) t, evaluated from b for t >= 0.5.
  return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

double estimate_pseudocounts(const PairedScales& p, const std::vector<bool>& where_zero_a,
                             const std::vector<bool>& where_zero_b, double quantile) {
  check_pairs(p);
  const int64_t G = p.G;
  CUVI_CHECK(int64_t(where_zero_a.size()) == G && int64_t(where_zero_b.size()) == G,
             "pseudocount masks do not match the number of genes");
  std::vector<float> max_a(G, -INFINITY), max_b(G, -INFINITY);
  for (int64_t i = 0; i < p.n(); ++i)
    for (int64_t g = 0; g < G; ++g) {
      max_a[g] = std::max(max_a[g], p.s1[i][g]);
      max_b[g] = std::max(max_b[g], p.s2[i][g]);
    }
  auto eps_of = [&](const std::vector<float>& mx, const std::vector<bool>& zero, bool* found) {
    std::vector<double> v;
    for (int64_t g = 0; g < G; ++g)
      if (zero[g]) v.push_back(mx[g]);
    *found = !v.empty();
    return v.empty() ? 1e-10 : double(float(quantile_linear(v, quantile)));
  };
  bool fa = false, fb = false;
  const double eps_a = eps_of(max_a, where_zero_a, &fa), eps_b = eps_of(max_b, where_zero_b, &fb);
  if (!fa && !fb) return std::max(1e-10, 1e-10 / double(G));  // numpy stays in float64 here
  // A float32 quantile makes the rest float32: max, division by G, floor at float32(1e-10).
  const float e = float(std::max(eps_a, eps_b));
  return double(std::max(float(1e-10), e / float(G)));
}

std::vector<bool> fdr_de_prediction(const std::vector<double>& proba_de, double fdr_target) {
  const size_t G = proba_de.size();
  std::vector<size_t> order(G);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return proba_de[a] > proba_de[b]; });
  double cum = 0;
  size_t d = 0;
  for (size_t k = 0; k < G; ++k) {
    cum += 1.0 - proba_de[order[k]];
    if (cum / double(k + 1) <= fdr_target) ++d;
  }
  std::vector<bool> out(G, false);
  for (size_t k = 0; k < d; ++k) out[order[k]] = true;
  return out;
}

std::vector<float> float32_totals(const CsrView& m, ColumnRange cols) {
  const int64_t c0 = cols.begin, c1 = cols.stop(m);
  std::vector<float> t(m.n_rows, 0.f);
  for (int64_t i = 0; i < m.n_rows; ++i) {
    float s = 0.f;
    for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k)
      if (m.indices[k] >= c0 && m.indices[k] < c1) s += m.data[k];
    t[i] = s;
  }
  return t;
}

RawStats raw_counts_properties(const CsrView& m, const std::vector<int32_t>& rows,
                               const std::vector<float>& totals, bool sparse, ColumnRange cols) {
  const int64_t c0 = cols.begin, c1 = cols.stop(m);
  const int64_t G = c1 - c0, n = int64_t(rows.size());
  CUVI_CHECK(n > 0, "raw-count statistics of an empty group");
  std::vector<float> sum(G, 0.f), norm(G, 0.f);
  std::vector<double> nz(G, 0.0);
  std::vector<int64_t> nz_count(G, 0);
  const float inv_n = float(1.0 / double(n));
  const double inv_n64 = 1.0 / double(n);
  bool zero_total = false;
  for (int32_t r : rows) {
    // scaling factor: float32(1 / total) * 1e4, in float32 (inf for an all-zero cell).
    const float sf = (1.0f / totals[r]) * 1e4f;
    zero_total |= totals[r] == 0.f;
    for (int64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
      const float x = m.data[k];
      if (x == 0.f || m.indices[k] < c0 || m.indices[k] >= c1) continue;
      const int64_t g = m.indices[k] - c0;
      const float xn = mul_f32(x, sf);
      if (sparse) {
        sum[g] += mul_f32(x, inv_n);
        norm[g] += mul_f32(xn, inv_n);
        nz[g] += inv_n64;
      } else {
        sum[g] += x;
        norm[g] += xn;
        ++nz_count[g];
      }
    }
  }
  RawStats s;
  s.raw_mean.resize(G);
  s.non_zeros_proportion.resize(G);
  s.raw_normalized_mean.resize(G);
  const float nf = float(n);
  for (int64_t g = 0; g < G; ++g) {
    if (sparse) {
      s.raw_mean[g] = sum[g];
      s.non_zeros_proportion[g] = nz[g];
      s.raw_normalized_mean[g] = norm[g];
    } else {
      s.raw_mean[g] = sum[g] / nf;
      s.non_zeros_proportion[g] = double(nz_count[g]) / double(n);
      // numpy multiplies every entry, zeros included: 0 * inf makes the column NaN.
      s.raw_normalized_mean[g] = zero_total ? NAN : norm[g] / nf;
    }
  }
  return s;
}

std::vector<bool> low_mean_genes(const CsrView& m, const std::vector<int32_t>& rows, double threshold,
                                 ColumnRange cols) {
  const int64_t c0 = cols.begin, c1 = cols.stop(m), G = c1 - c0;
  std::vector<double> sum(G, 0.0);
  for (int32_t r : rows)
    for (int64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k)
      if (m.indices[k] >= c0 && m.indices[k] < c1) sum[m.indices[k] - c0] += m.data[k];
  std::vector<bool> low(G);
  const float thr = float(threshold);
  for (int64_t g = 0; g < G; ++g) low[g] = float(sum[g] / double(rows.size())) < thr;
  return low;
}

std::vector<double> fraction_positive(const CsrView& m, const std::vector<int32_t>& rows, ColumnRange cols) {
  const int64_t c0 = cols.begin, c1 = cols.stop(m);
  CUVI_CHECK(!rows.empty(), "accessibility statistics of an empty group");
  std::vector<int64_t> count(c1 - c0, 0);
  for (int32_t r : rows)
    for (int64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k)
      if (m.data[k] > 0.f && m.indices[k] >= c0 && m.indices[k] < c1) ++count[m.indices[k] - c0];
  std::vector<double> out(count.size());
  for (size_t j = 0; j < count.size(); ++j) out[j] = double(count[j]) / double(rows.size());
  return out;
}

}  // namespace cuvi::workflow
