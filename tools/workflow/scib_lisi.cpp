// LISI: the bisection on beta of scib-metrics' _get_neighbor_probability (harmony's compute_simpson_index),
// per cell in double precision.
#include "tools/workflow/scib_lisi.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cuvi::workflow {
namespace {

constexpr double kTolerance = 1e-5;
constexpr int kMaxTries = 50;

// Entropy H and normalised weights P of one cell at beta (self entries weigh 0).
double hbeta(const float* d, const char* keep, int64_t k, double beta, std::vector<double>* P) {
  double sum = 0, dot = 0;
  for (int64_t j = 0; j < k; ++j) {
    (*P)[size_t(j)] = keep[j] ? std::exp(-double(d[j]) * beta) : 0.0;
    sum += (*P)[size_t(j)];
    dot += double(d[j]) * (*P)[size_t(j)];
  }
  if (sum == 0) {
    std::fill(P->begin(), P->end(), 0.0);
    return 0;
  }
  for (double& p : *P) p /= sum;
  return std::log(sum) + beta * dot / sum;
}

}  // namespace

double nan_median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + long(h), v.end());
  const double upper = v[h];
  if (v.size() % 2) return upper;
  return (*std::max_element(v.begin(), v.begin() + long(h)) + upper) / 2;
}

std::vector<double> lisi_per_cell(const NeighborGraph& g, const std::vector<int32_t>& codes, int32_t n_groups,
                                  double perplexity) {
  const int64_t n = g.n, k = g.k;
  if (perplexity <= 0) perplexity = std::floor(double(k) / 3);
  const double log_perplexity = std::log(perplexity);
  std::vector<double> out(static_cast<size_t>(n));
#pragma omp parallel
  {
    std::vector<double> P(static_cast<size_t>(k)), group(static_cast<size_t>(n_groups));
    std::vector<char> keep(static_cast<size_t>(k));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float* d = &g.distances[size_t(i * k)];
      const int32_t* idx = &g.indices[size_t(i * k)];
      for (int64_t j = 0; j < k; ++j) keep[size_t(j)] = idx[j] != i;
      double beta = 1, betamin = -std::numeric_limits<double>::infinity(),
             betamax = std::numeric_limits<double>::infinity();
      double H = hbeta(d, keep.data(), k, beta, &P);
      double Hdiff = H - log_perplexity;
      for (int tries = 0; std::fabs(Hdiff) >= kTolerance && tries < kMaxTries; ++tries) {
        if (Hdiff > 0) {
          betamin = beta;
          beta = std::isinf(betamax) ? beta * 2 : (beta + betamax) / 2;
        } else {
          betamax = beta;
          beta = std::isinf(betamin) ? beta / 2 : (beta + betamin) / 2;
        }
        H = hbeta(d, keep.data(), k, beta, &P);
        Hdiff = H - log_perplexity;
      }
      if (H == 0) {
        out[size_t(i)] = -1;  // 1 / simpson with simpson = -1
        continue;
      }
      std::fill(group.begin(), group.end(), 0.0);
      for (int64_t j = 0; j < k; ++j) group[size_t(codes[size_t(idx[j])])] += P[size_t(j)];
      double simpson = 0;
      for (double p : group) simpson += p * p;
      out[size_t(i)] = 1 / simpson;
    }
  }
  return out;
}

double ilisi_score(const NeighborGraph& g, const std::vector<int32_t>& batches, int32_t n_batches) {
  const double m = nan_median(lisi_per_cell(g, batches, n_batches));
  return (m - 1) / double(n_batches - 1);
}

double clisi_score(const NeighborGraph& g, const std::vector<int32_t>& labels, int32_t n_labels) {
  const double m = nan_median(lisi_per_cell(g, labels, n_labels));
  return (double(n_labels) - m) / double(n_labels - 1);
}

}  // namespace cuvi::workflow
