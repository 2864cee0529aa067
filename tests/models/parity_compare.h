// Elementwise comparison of cuvi's float32 tensors with a parity fixture's (scvi-tools, float32):
// |got - ref| <= rtol |ref| + atol_scale * mean|ref| + atol, reporting the worst entry.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/models/fixture_reader.h"

namespace cuvi::test {

inline ::testing::AssertionResult close_to(const std::vector<float>& got, const std::vector<float>& ref,
                                           const std::string& what, double rtol, double atol_scale,
                                           double atol = 0) {
  if (got.size() != ref.size())
    return ::testing::AssertionFailure() << what << ": " << got.size() << " values, fixture has " << ref.size();
  double mean = 0;
  for (float x : ref) mean += std::fabs(x);
  mean /= std::max<size_t>(1, ref.size());
  size_t worst = 0;
  double worst_ratio = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double lim = rtol * std::fabs(ref[i]) + atol_scale * mean + atol + 1e-12;
    const double r = std::fabs(double(got[i]) - double(ref[i])) / lim;
    if (!(r <= worst_ratio)) {  // NaN counts as worst
      worst_ratio = std::isnan(r) ? INFINITY : r;
      worst = i;
    }
  }
  if (worst_ratio <= 1) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << "[" << worst << "]: cuvi " << got[worst] << " scvi-tools "
                                       << ref[worst] << " (" << worst_ratio << "x the tolerance)";
}

// A fixture tensor; the defaults are for fp32 against torch's fp32: 1e-4 relative plus 1e-5 of the mean magnitude.
inline ::testing::AssertionResult close_to(const std::vector<float>& got, const HostArray& ref, const std::string& what,
                                           double rtol = 1e-4, double atol_scale = 1e-5) {
  return close_to(got, ref.v, what, rtol, atol_scale);
}

}  // namespace cuvi::test
