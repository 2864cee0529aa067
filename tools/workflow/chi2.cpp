// Chi-squared survival function: the regularised upper incomplete gamma by its series below s + 1 and
// Lentz's continued fraction above (MRVI DE p-values, kBET's acceptance test).
#include "tools/workflow/chi2.h"

#include <algorithm>
#include <cmath>

namespace cuvi::workflow {

double chi2_sf(double x, double df) {
  if (std::isnan(x) || std::isnan(df)) return NAN;
  if (x <= 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  const double s = df / 2, z = x / 2;
  const double log_pre = s * std::log(z) - z - std::lgamma(s);
  if (z < s + 1) {  // lower series P(s, z), then Q = 1 - P
    double term = 1.0 / s, sum = term;
    for (int k = 1; k < 10000; ++k) {
      term *= z / (s + k);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return std::max(0.0, 1.0 - std::exp(log_pre) * sum);
  }
  // Q(s, z) by the continued fraction (modified Lentz).
  const double tiny = 1e-300;
  double b = z + 1 - s, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return std::exp(log_pre) * h;
}

}  // namespace cuvi::workflow
