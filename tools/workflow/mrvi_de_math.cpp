// Jacobi eigendecomposition, PSD square root and pseudo-inverse, Benjamini-Hochberg step-up (the
// chi-squared survival function of the p-values: chi2.h).
#include "tools/workflow/mrvi_de_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace cuvi::workflow {

void symmetric_eigen(const std::vector<double>& a_in, int64_t n, std::vector<double>* values, std::vector<double>* v) {
  std::vector<double> a = a_in;
  v->assign(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) (*v)[size_t(i * n + i)] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, total = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        total += a[size_t(i * n + j)] * a[size_t(i * n + j)];
        if (i != j) off += a[size_t(i * n + j)] * a[size_t(i * n + j)];
      }
    if (off <= 1e-30 * std::max(total, 1e-300)) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = a[size_t(p * n + q)];
        if (apq == 0) continue;
        const double app = a[size_t(p * n + p)], aqq = a[size_t(q * n + q)];
        const double theta = (aqq - app) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // A <- J^T A J
          const double akp = a[size_t(k * n + p)], akq = a[size_t(k * n + q)];
          a[size_t(k * n + p)] = c * akp - s * akq;
          a[size_t(k * n + q)] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {
          const double apk = a[size_t(p * n + k)], aqk = a[size_t(q * n + k)];
          a[size_t(p * n + k)] = c * apk - s * aqk;
          a[size_t(q * n + k)] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {
          const double vkp = (*v)[size_t(k * n + p)], vkq = (*v)[size_t(k * n + q)];
          (*v)[size_t(k * n + p)] = c * vkp - s * vkq;
          (*v)[size_t(k * n + q)] = s * vkp + c * vkq;
        }
      }
  }
  values->resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) (*values)[size_t(i)] = a[size_t(i * n + i)];
}

namespace {

// V f(Lambda) V^T.
std::vector<double> spectral(const std::vector<double>& a, int64_t n, double (*f)(double, double), double param) {
  std::vector<double> lam, v;
  symmetric_eigen(a, n, &lam, &v);
  std::vector<double> out(size_t(n * n), 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const double fk = f(lam[size_t(k)], param);
    if (fk == 0) continue;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) out[size_t(i * n + j)] += v[size_t(i * n + k)] * fk * v[size_t(j * n + k)];
  }
  return out;
}

}  // namespace

std::vector<double> psd_sqrtm(const std::vector<double>& a, int64_t n) {
  std::vector<double> r = spectral(a, n, [](double l, double) { return l > 0 ? std::sqrt(l) : 0.0; }, 0);
  for (double& x : r)
    if (!std::isfinite(x)) x = 0;
  return r;
}

std::vector<double> symmetric_pinv(const std::vector<double>& a, int64_t n) {
  std::vector<double> lam, v;
  symmetric_eigen(a, n, &lam, &v);
  double mx = 0;
  for (double l : lam) mx = std::max(mx, std::fabs(l));
  const double cut = double(n) * double(std::numeric_limits<float>::epsilon()) * mx;
  return spectral(a, n, [](double l, double c) { return std::fabs(l) > c ? 1.0 / l : 0.0; }, cut);
}

std::vector<double> benjamini_hochberg(const std::vector<double>& p) {
  const size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> adj(m);
  double running = 1.0;
  for (size_t r = m; r-- > 0;) {
    const double v = p[order[r]] * double(m) / double(r + 1);
    running = std::min(running, v);
    adj[order[r]] = std::min(running, 1.0);
  }
  return adj;
}

}  // namespace cuvi::workflow
