// The neighbourhood-correlation parity fixture (tests/fixtures/neighbourhood_correlation, written by
// tools/fixtures/gen_neighbourhood_correlation_fixture.py) and the comparison of a per-cell table with it.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>

#include "tests/csv_lite.h"
#include "tests/models/fixture_reader.h"

namespace cuvi::test {

inline std::string neighbourhood_fixture(const std::string& file) {
  return fixture_dir("neighbourhood_correlation") + "/" + file;
}

inline double csv_number(const std::string& s) {
  return s.empty() ? std::numeric_limits<double>::quiet_NaN() : std::strtod(s.c_str(), nullptr);
}

// Correlations: the reference sums float32 values over the markers (E[x^2] - E[x]^2 in float32), so it carries
// a float32 rounding error over that reduction length; counts and fractions are exact.
inline double correlation_tolerance(int64_t n_markers) {
  return 8.0 * double(n_markers) * std::numeric_limits<float>::epsilon();
}

// Every column of `ref` in `got` (same header order, same rows); NaN where the reference has NaN.
inline void expect_tables_match(const Csv& got, const Csv& ref, double tol) {
  ASSERT_EQ(got.header, ref.header);
  ASSERT_EQ(got.rows.size(), ref.rows.size());
  int compared = 0;
  for (size_t c = 1; c < ref.header.size(); ++c) {
    const std::string& name = ref.header[c];
    const bool exact = name.rfind("n_neighbours_", 0) == 0 || name.rfind("frac_neighbours_", 0) == 0;
    // Relative quantities (ratios, cv) scale the correlation tolerance by their own size.
    const bool relative = name.rfind("corr_norm_", 0) == 0 || name.rfind("corr_cv_", 0) == 0 ||
                          name == "marker_gene_total_expression";
    for (size_t r = 0; r < ref.rows.size(); ++r) {
      const double want = csv_number(ref.rows[r][c]), have = csv_number(got.rows[r][c]);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(have)) << name << " row " << r << ": " << have << ", reference NaN";
        continue;
      }
      const double t = exact ? 1e-12 * std::max(1.0, std::abs(want)) : relative ? tol * std::max(1.0, std::abs(want)) : tol;
      EXPECT_NEAR(have, want, t) << name << " row " << ref.rows[r][0];
      ++compared;
    }
  }
  EXPECT_GT(compared, 1000);
}

}  // namespace cuvi::test
