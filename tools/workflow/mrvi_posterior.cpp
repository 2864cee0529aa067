// q(u|x,s) of every cell through the model's encoder, and blocked diagonal-Gaussian log densities.
#include "tools/workflow/mrvi_posterior.h"

#include <cmath>

#include "kernels/cpu/gemm.h"

namespace cuvi::workflow {

QuPosterior qu_posterior(MrviSession& session) {
  models::MrviModel& model = session.model();
  QuPosterior q;
  q.n = session.dataset().n_rows();
  q.d = model.config().n_latent_u;
  q.mean.assign(size_t(q.n * q.d), 0.f);
  q.scale.assign(size_t(q.n * q.d), 0.f);
  session.for_each_batch(0, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    models::Graph g{tape, model.params(), false, nullptr};
    const models::MrviInputs in = model.inputs(tape, mb);
    const models::MrviModule::QuOut qu = model.module().encode_u(g, in.x, in.sample);
    download_rows(session.backend(), tape.value(qu.mean), q.mean.data(), row0, q.d);
    download_rows(session.backend(), tape.value(qu.scale), q.scale.data(), row0, q.d);
  });
  return q;
}

GaussianBank::GaussianBank(const QuPosterior& q, const std::vector<int64_t>& comps)
    : m_k(int64_t(comps.size())), m_d(q.d), m_coef(comps.size() * size_t(2 * q.d + 1)) {
  const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
  for (size_t c = 0; c < comps.size(); ++c) {
    double* w = m_coef.data() + c * size_t(2 * m_d + 1);
    double constant = 0;
    for (int64_t k = 0; k < m_d; ++k) {
      const double m = q.mean[size_t(comps[c] * m_d + k)], s = q.scale[size_t(comps[c] * m_d + k)];
      const double a = 1.0 / (s * s);
      w[k] = -0.5 * a;
      w[m_d + k] = m * a;
      constant += -0.5 * m * m * a - std::log(s) - half_log_2pi;
    }
    w[2 * m_d] = constant;
  }
}

void GaussianBank::log_density(const float* u, int64_t rows, std::vector<double>* out) const {
  const int64_t W = 2 * m_d + 1;
  std::vector<double> feat(size_t(rows * W));
  for (int64_t r = 0; r < rows; ++r) {
    double* f = feat.data() + r * W;
    for (int64_t k = 0; k < m_d; ++k) {
      const double x = u[r * m_d + k];
      f[k] = x * x;
      f[m_d + k] = x;
    }
    f[2 * m_d] = 1.0;
  }
  out->assign(size_t(rows * m_k), 0.0);
  cpu::gemm<double>(false, true, rows, m_k, W, feat.data(), W, m_coef.data(), W, out->data(), m_k, false);
}

}  // namespace cuvi::workflow
