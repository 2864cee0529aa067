// MULTIVI fit: eval-mode forward with the loss (kl_weight 1), per-cell terms downloaded in row order.
#include "tools/workflow/multivi_fit.h"

namespace cuvi::workflow {
namespace {

constexpr uint32_t kFitSteps = 0xC0000000u;  // Philox steps of the fit's z samples

void append(Backend& b, const Tape& tape, TensorId id, int64_t n, std::vector<double>& out) {
  if (id == kNoTensor) {
    out.insert(out.end(), size_t(n), 0.0);
    return;
  }
  std::vector<float> host(static_cast<size_t>(n));
  b.download(host.data(), tape.value(id).data, size_t(n) * sizeof(float));
  out.insert(out.end(), host.begin(), host.end());
}

}  // namespace

MultiviFit evaluate_multivi_fit(MultiviSession& session, uint64_t seed) {
  MultiviFit f;
  models::MultiviModel& model = session.model();
  Backend& b = session.backend();
  b.ctx().seed = seed;
  StepScalars s = b.read_scalars();
  const double kl_weight = s.kl_weight;
  s.kl_weight = 1.0;
  b.write_scalars(s);
  session.for_each_batch(kFitSteps, [&](Tape& tape, const MiniBatch& mb, int64_t) {
    models::Graph g{tape, model.params(), false, nullptr};
    const models::MultiviOutputs o = model.module().forward(g, model.inputs(tape, mb));
    append(b, tape, o.rec_expr, mb.n, f.reconstruction_expression);
    append(b, tape, o.rec_acc, mb.n, f.reconstruction_accessibility);
    append(b, tape, o.kl_z, mb.n, f.kl_z);
    append(b, tape, o.kl_paired, mb.n, f.kl_paired);
  });
  s = b.read_scalars();
  s.kl_weight = kl_weight;
  b.write_scalars(s);
  const size_t R = f.kl_z.size();
  f.elbo.resize(R);
  for (size_t i = 0; i < R; ++i) {
    f.elbo[i] = -(f.reconstruction_expression[i] + f.reconstruction_accessibility[i] + f.kl_z[i] + f.kl_paired[i]);
    f.elbo_mean += f.elbo[i] / double(R);
    f.expression_mean += f.reconstruction_expression[i] / double(R);
    f.accessibility_mean += f.reconstruction_accessibility[i] / double(R);
  }
  return f;
}

}  // namespace cuvi::workflow
