// ScviModel implementation: parameter setup, minibatch inputs, the training step's loss and metrics.
#include "models/scvi/scvi_model.h"

#include "models/layers/transform_batch.h"

#include <cmath>

namespace cuvi::models {

ScviModel::ScviModel(const ScviConfig& config) : m_module(config) { m_module.declare(m_params); }

void ScviModel::allocate(Backend& backend, uint64_t seed) {
  m_params.allocate(backend);
  m_params.initialize(seed);
}

ScviInputs ScviModel::inputs(Tape& tape, const MiniBatch& mb, int64_t transform_batch) const {
  ScviInputs in;
  in.x = tape.input(mb.x);
  if (mb.x_log1p.defined()) in.x_log1p = tape.input(mb.x_log1p);
  if (mb.log_library.defined()) in.log_library = tape.input(mb.log_library);
  if (mb.codes.defined()) in.enc_codes = in.dec_codes = tape.input(mb.codes);
  const Shape col{mb.n, 1};
  in.batch = in.dec_batch = tape.input(Tensor(mb.batch.data, DType::I32, mb.batch.device, col));
  in.labels = tape.input(Tensor(mb.labels.data, DType::I32, mb.labels.device, col));
  if (mb.cont.defined()) in.cont = tape.input(mb.cont);
  if (transform_batch >= 0) {
    in.dec_codes = codes_with_batch(tape, in.enc_codes, m_module.layout(), transform_batch);
    OpParams q;
    q.i[0] = 0;
    q.i[1] = transform_batch;
    in.dec_batch = tape.apply1("replace_column", {in.batch}, q);
  }
  return in;
}

StepTensors ScviModel::record(Tape& tape, const MiniBatch& mb, bool training) {
  Graph g{tape, m_params, training, nullptr};
  const ScviOutputs o = m_module.forward(g, inputs(tape, mb));
  StepTensors st;
  st.loss = o.loss;
  st.metrics[0] = o.reconstruction_loss;  // -log p(x|z,l)
  st.metrics[1] = o.kl_local;             // KL_z + KL_l, unweighted
  return st;
}

void library_prior(const std::vector<double>& totals, const std::vector<int32_t>& batch, int64_t n_batch,
                   std::vector<float>* means, std::vector<float>* vars) {
  std::vector<double> s1(n_batch, 0), s2(n_batch, 0), cnt(n_batch, 0);
  for (size_t i = 0; i < totals.size(); ++i) {
    const int32_t b = batch[i];
    if (b < 0 || b >= n_batch) continue;
    const double l = totals[i] > 0 ? std::log(totals[i]) : 0.0;
    s1[b] += l;
    cnt[b] += 1;
  }
  means->assign(n_batch, 0.f);
  vars->assign(n_batch, 1.f);
  for (int64_t b = 0; b < n_batch; ++b)
    if (cnt[b] > 0) (*means)[b] = float(s1[b] / cnt[b]);
  for (size_t i = 0; i < totals.size(); ++i) {
    const int32_t b = batch[i];
    if (b < 0 || b >= n_batch) continue;
    const double l = totals[i] > 0 ? std::log(totals[i]) : 0.0;
    s2[b] += (l - (*means)[b]) * (l - (*means)[b]);
  }
  for (int64_t b = 0; b < n_batch; ++b)
    if (cnt[b] > 0) (*vars)[b] = float(s2[b] / cnt[b]);
}

void ScviModel::set_library_prior_from_counts(const std::vector<double>& totals, const std::vector<int32_t>& batch) {
  if (config().use_observed_lib_size) return;
  std::vector<float> means, vars;
  library_prior(totals, batch, config().n_batch, &means, &vars);
  m_params.set(m_module.library_log_means(), means);
  m_params.set(m_module.library_log_vars(), vars);
}

}  // namespace cuvi::models
