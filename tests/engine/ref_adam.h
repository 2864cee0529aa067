// Double-precision transcription of torch.optim's Adam (coupled L2) and AdamW (decoupled decay) update,
// the independent reference of the optimizer tests on both backends.
#pragma once
#include <cmath>
#include <vector>

namespace cuvi {

struct RefAdam {
  double lr, b1, b2, eps, wd;
  bool decoupled;
  std::vector<double> p, m, v;
  int t = 0;
  void step(const std::vector<double>& g0, double scale = 1) {
    ++t;
    for (size_t i = 0; i < p.size(); ++i) {
      double g = g0[i] * scale;
      if (decoupled)
        p[i] *= 1 - lr * wd;
      else
        g += wd * p[i];
      m[i] = m[i] + (1 - b1) * (g - m[i]);
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
      p[i] -= lr / (1 - std::pow(b1, t)) * m[i] / denom;
    }
  }
};

}  // namespace cuvi
