// ELBO, reconstruction error and importance-sampled marginal log-likelihood (scvi-multivi.md §1.5)
// on the device: each pass is an eval-mode forward with a fresh q(z|x) sample; the log densities
// are registry ops; per-cell logsumexp over the passes accumulates on the host in double.
#include "tools/workflow/scvi_fit.h"

#include <cmath>
#include <limits>

#include "tools/workflow/scvi_tasks.h"

namespace cuvi::workflow {
namespace {

// Philox steps of the fit passes. The ELBO pass and the first importance-sampling pass share their
// steps, so the ELBO's z (and l) sample is the marginal LL's first importance sample.
constexpr int64_t kFitSteps = 0xC0000000ll;

std::vector<float> download(Backend& b, const Tensor& t) {
  std::vector<float> v(size_t(t.numel()));
  b.download(v.data(), t.data, t.nbytes());
  return v;
}

// A (1) tensor holding v, for the broadcast loc/scale of normal_log_prob.
TensorId constant(Tape& tape, float v) {
  Tensor t = tape.arena().tensor(DType::F32, Shape{1});
  tape.backend().upload(t.data, &v, sizeof v);
  return tape.input(t);
}

// sqrt(v) as exp(0.5 ln v) (the catalog has no sqrt op; the two differ by float rounding only).
TensorId std_of(Tape& tape, TensorId var) {
  OpParams half;
  half.f[0] = 0.5;
  return tape.apply1("exp", {tape.apply1("scale", {tape.apply1("log", {var})}, half)});
}

// ln p(z) + ln p(x|z,l) - ln q(z|x) [+ ln p(l) - ln q(l|x)] per cell (N), as scvi's marginal_ll;
// for latent "ln" both z densities are taken at the transformed z, as scvi-tools does.
TensorId log_importance_weight(Tape& tape, const models::ScviModel& model, const models::ScviInputs& in,
                               const models::ScviOutputs& o) {
  const TensorId p_z = tape.apply1("normal_log_prob", {o.z, constant(tape, 0.f), constant(tape, 1.f)});
  const TensorId q_z = tape.apply1("normal_log_prob", {o.z, o.qz_m, std_of(tape, o.qz_v)});
  TensorId w = tape.apply1("sub", {tape.apply1("add", {p_z, o.log_lik}), q_z});
  if (!model.config().use_observed_lib_size) {
    // Prior N(mu_b, sqrt(var_b)) of the cell's observed batch: one-hot lookup of the (1, B) buffers.
    const Tensor& x = tape.value(in.x);
    const TensorId empty = tape.input(Tensor(x.data, x.dtype, x.device, Shape{x.dim(0), 0}));
    const ParamStore& ps = model.params();
    const TensorId pm = tape.apply1(
        "linear", {empty, tape.input(ps.value(model.module().library_log_means())), kNoTensor, in.batch});
    const TensorId pv = tape.apply1(
        "linear", {empty, tape.input(ps.value(model.module().library_log_vars())), kNoTensor, in.batch});
    const TensorId p_l = tape.apply1("normal_log_prob", {o.library, pm, std_of(tape, pv)});
    const TensorId q_l = tape.apply1("normal_log_prob", {o.library, o.ql_m, std_of(tape, o.ql_v)});
    w = tape.apply1("add", {w, tape.apply1("sub", {p_l, q_l})});
  }
  return w;
}

}  // namespace

FitResult evaluate_fit(ScviSession& session, const FitOptions& opt) {
  CUVI_CHECK(opt.n_mc_samples >= 0, "--n-mc-samples must be non-negative");
  const models::ScviModel& model = session.model();
  Backend& backend = session.backend();
  const int64_t R = session.dataset().n_rows();
  std::vector<int32_t> rows(static_cast<size_t>(R));
  for (int64_t i = 0; i < R; ++i) rows[size_t(i)] = int32_t(i);
  backend.ctx().seed = opt.seed;
  FitResult r;
  r.elbo.assign(size_t(R), 0.0);
  r.reconstruction_loss.assign(size_t(R), 0.0);

  auto forward = [&](Tape& tape, const MiniBatch& mb, models::ScviInputs* in) {
    models::Graph g{tape, model.params(), false, nullptr};
    *in = model.inputs(tape, mb);
    return model.module().forward(g, *in);
  };

  // ELBO and reconstruction error from one z sample per cell.
  for_each_row_batch(session, rows, opt.batch_size, kFitSteps, [&](Tape& tape, const MiniBatch& mb, int64_t first) {
    models::ScviInputs in;
    const models::ScviOutputs o = forward(tape, mb, &in);
    const std::vector<float> ll = download(backend, tape.value(o.log_lik));
    const std::vector<float> kz = download(backend, tape.value(o.kl_z));
    std::vector<float> kl(ll.size(), 0.f);
    if (o.kl_l != kNoTensor) kl = download(backend, tape.value(o.kl_l));
    for (int64_t i = 0; i < mb.n; ++i) {
      r.reconstruction_loss[size_t(first + i)] = -double(ll[size_t(i)]);
      r.elbo[size_t(first + i)] = double(ll[size_t(i)]) - double(kz[size_t(i)]) - double(kl[size_t(i)]);
    }
  });
  for (int64_t i = 0; i < R; ++i) {
    r.elbo_mean += r.elbo[size_t(i)] / double(R);
    r.reconstruction_loss_mean += r.reconstruction_loss[size_t(i)] / double(R);
  }
  if (opt.n_mc_samples == 0) return r;

  // Marginal LL: S passes, each a fresh encoder sample for every cell; running logsumexp per cell.
  const int64_t S = opt.n_mc_samples;
  std::vector<double> mx(static_cast<size_t>(R), -std::numeric_limits<double>::infinity()), sum(static_cast<size_t>(R), 0.0);
  int64_t steps = kFitSteps;
  for (int64_t s = 0; s < S; ++s) {
    steps += for_each_row_batch(session, rows, opt.batch_size, steps, [&](Tape& tape, const MiniBatch& mb, int64_t first) {
      models::ScviInputs in;
      const models::ScviOutputs o = forward(tape, mb, &in);
      const std::vector<float> w = download(backend, tape.value(log_importance_weight(tape, model, in, o)));
      for (int64_t i = 0; i < mb.n; ++i) {
        const double v = w[size_t(i)];
        double& m = mx[size_t(first + i)];
        double& a = sum[size_t(first + i)];
        if (std::isnan(v)) {
          m = v;
        } else if (v > m) {
          a = a * std::exp(m - v) + 1.0;
          m = v;
        } else if (!std::isnan(m)) {
          a += std::exp(v - m);
        }
      }
    });
  }
  r.marginal_ll.resize(size_t(R));
  const double log_s = std::log(double(S));
  for (int64_t i = 0; i < R; ++i) {
    const double m = mx[size_t(i)];
    r.marginal_ll[size_t(i)] = std::isinf(m) ? m : m + std::log(sum[size_t(i)]) - log_s;
    r.marginal_ll_cell_mean += r.marginal_ll[size_t(i)] / double(R);
  }
  const int64_t bs = std::max<int64_t>(1, opt.batch_size);
  int64_t n_batches = 0;
  for (int64_t b0 = 0; b0 < R; b0 += bs, ++n_batches) {
    const int64_t b1 = std::min(R, b0 + bs);
    double m = 0;
    for (int64_t i = b0; i < b1; ++i) m += r.marginal_ll[size_t(i)];
    r.marginal_ll_batch_mean += m / double(b1 - b0);
  }
  r.marginal_ll_batch_mean /= double(n_batches);
  return r;
}

}  // namespace cuvi::workflow
