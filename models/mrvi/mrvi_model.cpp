// MrviModel implementation: parameter setup, minibatch inputs, the training step's loss and metrics.
#include "models/mrvi/mrvi_model.h"

namespace cuvi::models {

MrviModel::MrviModel(const MrviConfig& config) : m_module(config) { m_module.declare(m_params); }

void MrviModel::allocate(Backend& backend, uint64_t seed) {
  m_backend = &backend;
  m_params.allocate(backend);
  m_params.initialize(seed);
  refresh_constants();
}

void MrviModel::refresh_constants() {
  CUVI_CHECK(m_backend, "MRVI model used before allocate()");
  m_module.upload_constants(*m_backend, m_params);
}

void MrviModel::set_n_obs_per_sample(const std::vector<float>& n_obs) {
  CUVI_CHECK(int64_t(n_obs.size()) == config().n_sample,
             "n_obs_per_sample has " + std::to_string(n_obs.size()) + " entries for " +
                 std::to_string(config().n_sample) + " samples");
  m_params.set(m_module.n_obs_per_sample_buffer(), n_obs);
  refresh_constants();
}

MrviInputs MrviModel::inputs(Tape& tape, const MiniBatch& mb) const {
  CUVI_CHECK(mb.codes.defined() && mb.codes.ndim() == 2 && mb.codes.dim(1) >= 1,
             "MRVI minibatches carry the sample index in code column 0");
  MrviInputs in;
  in.x = tape.input(mb.x);
  const Tensor& c = mb.codes;
  CUVI_CHECK(c.dim(1) == 1, "MRVI minibatches carry exactly one code column (the sample)");
  in.sample = tape.input(Tensor(c.data, DType::I32, c.device, Shape{mb.n}));
  in.batch = tape.input(mb.batch);
  in.labels = tape.input(mb.labels);
  return in;
}

StepTensors MrviModel::record(Tape& tape, const MiniBatch& mb, bool training) {
  Graph g{tape, m_params, training, nullptr};
  MrviForwardOptions fo;
  fo.want_kl_z = false;  // the metrics need kl_local only
  const MrviOutputs o = m_module.forward(g, inputs(tape, mb), fo);
  StepTensors st;
  st.loss = o.loss;
  st.metrics[0] = o.reconstruction_loss;  // -log p(x|z,b)
  st.metrics[1] = o.kl_local;             // kl_local, unweighted
  return st;
}

TrainConfig mrvi_train_config() {
  TrainConfig tc;
  tc.batch_size = 128;
  tc.optimizer = AdamConfig::mrvi();
  tc.n_epochs_kl_warmup = 20;
  tc.early_stopping = false;
  tc.early_stopping_patience = 15;
  return tc;
}

}  // namespace cuvi::models
