// Test data, double-precision oracles and checks for the pairwise searches of engine/pairwise.h on any
// backend: clustered points, brute-force k-NN (ties by index), per-segment distance sums.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "engine/pairwise.h"

namespace cuvi::test {

// n points in d dimensions around a few centres (scale 1..10), rows dup_every apart duplicated exactly.
inline std::vector<float> clustered_points(int64_t n, int64_t d, uint32_t seed, int64_t dup_every = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> z(0.f, 1.f);
  std::vector<float> centres(size_t(5 * d));
  for (float& c : centres) c = 4.f * z(rng) + 3.f;
  std::vector<float> x(size_t(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < d; ++t) x[size_t(i * d + t)] = centres[size_t((i % 5) * d + t)] + z(rng);
  if (dup_every > 0)
    for (int64_t i = dup_every; i < n; i += dup_every)
      std::copy(&x[size_t((i - 1) * d)], &x[size_t(i * d)], &x[size_t(i * d)]);
  return x;
}

inline double exact_dist(const float* a, const float* b, int64_t d) {
  double s = 0;
  for (int64_t t = 0; t < d; ++t) s += (double(a[t]) - double(b[t])) * (double(a[t]) - double(b[t]));
  return std::sqrt(s);
}

// Every base row's distance from query q, sorted by (distance, index); `skip` (>= 0) left out.
inline std::vector<std::pair<double, int32_t>> ranked_row(const float* q, const float* base, int64_t n, int64_t d,
                                                          int64_t skip) {
  std::vector<std::pair<double, int32_t>> r;
  for (int64_t j = 0; j < n; ++j)
    if (j != skip) r.emplace_back(exact_dist(q, base + j * d, d), int32_t(j));
  std::sort(r.begin(), r.end());
  return r;
}

// sums(i, s) in double: distances from row i to every row of segment s.
inline std::vector<double> segment_sums_oracle(const std::vector<float>& x, int64_t n, int64_t d,
                                               const std::vector<int64_t>& seg, bool cosine) {
  const int64_t S = int64_t(seg.size()) - 1;
  std::vector<double> out(size_t(n * S), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t j = seg[size_t(s)]; j < seg[size_t(s + 1)]; ++j) {
        double v;
        if (cosine) {
          double xy = 0, xx = 0, yy = 0;
          for (int64_t t = 0; t < d; ++t) {
            xy += double(x[size_t(i * d + t)]) * x[size_t(j * d + t)];
            xx += double(x[size_t(i * d + t)]) * x[size_t(i * d + t)];
            yy += double(x[size_t(j * d + t)]) * x[size_t(j * d + t)];
          }
          v = std::min(2.0, std::max(0.0, 1 - xy / std::sqrt(xx * yy)));
        } else {
          v = exact_dist(&x[size_t(i * d)], &x[size_t(j * d)], d);
        }
        out[size_t(i * S + s)] += v;
      }
  return out;
}

constexpr double kUnit = 1.0 / (1 << 24);  // float32 unit roundoff

inline double sq_norm_centred(const float* x, const std::vector<double>& mean, int64_t d) {
  double s = 0;
  for (int64_t t = 0; t < d; ++t) s += (x[t] - mean[size_t(t)]) * (x[t] - mean[size_t(t)]);
  return s;
}

inline std::vector<double> column_means(const std::vector<float>& x, int64_t n, int64_t d) {
  std::vector<double> m(size_t(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < d; ++t) m[size_t(t)] += x[size_t(i * d + t)] / double(n);
  return m;
}

// Checks every listed row of `got` against brute force. The tiles may only confuse neighbours whose squared
// distances differ by less than the float32 error of |q|^2 + |b|^2 - 2 q.b: 2 (d + 3) u (|q|^2 + |b|^2).
inline void expect_knn_matches(const KnnLists& got, const std::vector<float>& q, int64_t m, const std::vector<float>& base,
                        int64_t n, int64_t d, int64_t k, bool skip_self, int64_t row_step = 1) {
  ASSERT_EQ(got.n_rows, m);
  ASSERT_EQ(got.k, k);
  const std::vector<double> mean = column_means(base, n, d);
  double base_max = 0;
  for (int64_t j = 0; j < n; ++j) base_max = std::max(base_max, sq_norm_centred(&base[size_t(j * d)], mean, d));
  for (int64_t i = 0; i < m; i += row_step) {
    const auto oracle = ranked_row(&q[size_t(i * d)], base.data(), n, d, skip_self ? i : -1);
    const double e2 = 2.0 * double(d + 3) * kUnit * (sq_norm_centred(&q[size_t(i * d)], mean, d) + base_max);
    const double kth = oracle[size_t(k - 1)].first;
    for (int64_t t = 0; t < k; ++t) {
      const int32_t j = got.indices[size_t(i * k + t)];
      ASSERT_GE(j, 0);
      ASSERT_LT(j, n);
      if (skip_self) {
        ASSERT_NE(j, i) << "row " << i << " lists itself";
      }
      const double exact = exact_dist(&q[size_t(i * d)], &base[size_t(j * d)], d);
      EXPECT_NEAR(got.distances[size_t(i * k + t)], exact, 2 * kUnit * exact + 1e-30) << "row " << i;
      EXPECT_LE(exact * exact, kth * kth + e2) << "row " << i << " lists " << j << " beyond the k-th distance";
      if (t > 0) {
        const float dp = got.distances[size_t(i * k + t - 1)], dc = got.distances[size_t(i * k + t)];
        EXPECT_TRUE(dp < dc || (dp == dc && got.indices[size_t(i * k + t - 1)] < j)) << "row " << i << " unsorted";
      }
    }
    for (int64_t t = 0; t < k; ++t) {  // every clearly-inside oracle neighbour is listed
      if (oracle[size_t(t)].first * oracle[size_t(t)].first >= kth * kth - e2) break;
      bool found = false;
      for (int64_t u = 0; u < k && !found; ++u) found = got.indices[size_t(i * k + u)] == oracle[size_t(t)].second;
      EXPECT_TRUE(found) << "row " << i << " misses neighbour " << oracle[size_t(t)].second;
    }
  }
}

// Per-segment sums: n rows' distances to every row of each segment, against double sums, within the sum of
// the per-element float32 bounds (Euclidean: sqrt of the squared-distance error; cosine: (d + 3) u).
inline void expect_sums_match(Backend& b, PairDistance metric, TileShape tiles) {
  const int64_t n = 301, d = 7;
  const auto x = clustered_points(n, d, 19);
  const std::vector<int64_t> seg = {0, 40, 41, 170, 170, 301};  // a singleton and an empty segment
  const std::vector<double> got = segment_distance_sums(b, x.data(), n, d, seg, metric, tiles);
  const std::vector<double> want = segment_sums_oracle(x, n, d, seg, metric == PairDistance::Cosine);
  const std::vector<double> mean = column_means(x, n, d);
  double max_sq = 0;
  for (int64_t i = 0; i < n; ++i) max_sq = std::max(max_sq, sq_norm_centred(&x[size_t(i * d)], mean, d));
  const double per_element = metric == PairDistance::Cosine ? 2.0 * double(d + 3) * kUnit
                                                            : std::sqrt(4.0 * double(d + 3) * kUnit * max_sq);
  const int64_t S = int64_t(seg.size()) - 1;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t s = 0; s < S; ++s) {
      const double size = double(seg[size_t(s + 1)] - seg[size_t(s)]);
      EXPECT_NEAR(got[size_t(i * S + s)], want[size_t(i * S + s)], size * per_element + 1e-12) << i << "," << s;
    }
}

}  // namespace cuvi::test
