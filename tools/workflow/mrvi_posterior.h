// Aggregated posteriors of MRVI's u (spec/mrvi.md §5 get_aggregated_posterior): q(u|x_i, s_i) of every
// cell, and the log densities of query points under chosen cells' diagonal Gaussians, evaluated in
// blocks as one double GEMM ([u^2, u, 1] against [-1/(2 s^2), m/s^2, sum(-m^2/(2 s^2) - log s) - D/2 log 2pi]).
#pragma once
#include <cstdint>
#include <vector>

#include "tools/workflow/mrvi_session.h"

namespace cuvi::workflow {

struct QuPosterior {
  int64_t n = 0, d = 0;
  std::vector<float> mean, scale;  // (n, d)
};

// Means and scales of q(u | x, s) for every cell of the session, in file order.
QuPosterior qu_posterior(MrviSession& session);

class GaussianBank {
 public:
  // Components: the cells `components` of `q` (their means and scales).
  GaussianBank(const QuPosterior& q, const std::vector<int64_t>& components);
  int64_t size() const { return m_k; }
  // out (rows, size()) = log N(u_r; mean_c, diag scale_c^2) for query rows u (rows, d).
  void log_density(const float* u,  // (rows, d)
                   int64_t rows,
                   std::vector<double>* out) const;  // (rows, size())

 private:
  int64_t m_k = 0, m_d = 0;
  std::vector<double> m_coef;  // (k, 2d + 1)
};

}  // namespace cuvi::workflow
