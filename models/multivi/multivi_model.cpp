// MultiviModel implementation: parameters (module, then the adversarial classifier), minibatch inputs,
// the adversarial training step and its metrics.
#include "models/multivi/multivi_model.h"

#include "models/layers/transform_batch.h"

namespace cuvi::models {

MultiviModel::MultiviModel(const MultiviConfig& config) : m_module(config) {
  m_module.declare(m_params);
  if (config.adversarial_classifier()) {
    ClassifierSpec cs;
    cs.n_input = config.n_latent;
    cs.n_hidden = 32;
    cs.n_labels = config.n_batch;
    cs.n_layers = 2;
    cs.dropout_rate = 0.1;
    m_classifier.declare(m_params, "adversarial_classifier", cs);
  }
}

void MultiviModel::allocate(Backend& backend, uint64_t seed) {
  m_params.allocate(backend);
  m_params.initialize(seed);
}

MultiviInputs MultiviModel::inputs(Tape& tape, const MiniBatch& mb, int64_t transform_batch, bool whole_cell) const {
  MultiviInputs in;
  in.x = tape.input(mb.x);
  if (mb.codes.defined()) in.enc_codes = in.dec_codes = tape.input(mb.codes);
  if (mb.cont.defined()) in.cont = tape.input(mb.cont);
  if (mb.rows.defined()) in.cell = tape.input(mb.rows);
  if (transform_batch >= 0) {
    in.dec_codes = codes_with_batch(tape, in.enc_codes, m_module.layout(), transform_batch);
    if (whole_cell) in.enc_codes = in.dec_codes;
  }
  return in;
}

MultiviModel::StepParts MultiviModel::step(Graph& g, const MultiviInputs& in, TensorId batch,
                                           const MultiviForwardOptions& fo) const {
  StepParts s;
  s.vae = m_module.forward(g, in, fo);
  s.loss = s.objective = s.vae.loss;
  const double kappa = config().scale_adversarial_loss;
  if (!g.training || !has_classifier() || kappa <= 0) return s;
  // (1) fool the classifier: gradients reach z (the VAE), not the classifier's weights.
  Graph frozen = g;
  frozen.frozen_params = true;
  s.fool_loss = m_classifier.loss(frozen, m_classifier.logits(frozen, s.vae.z, "fool"), batch, false);
  s.loss = g.apply("add", {s.vae.loss, g.apply("scale", {s.fool_loss}, params_f({kappa}))});
  // (2) train the classifier on the detached z.
  const TensorId z_detached = g.tape.detach(s.vae.z);
  s.classifier_loss = m_classifier.loss(g, m_classifier.logits(g, z_detached, "classifier"), batch, true);
  s.objective = g.apply("add", {s.loss, g.apply("scale", {s.classifier_loss}, params_f({kappa}))});
  return s;
}

StepTensors MultiviModel::record(Tape& tape, const MiniBatch& mb, bool training) {
  Graph g{tape, m_params, training, nullptr};
  const TensorId batch = tape.input(mb.batch);
  MultiviForwardOptions fo;
  fo.want_p = false;          // the loss works from the decoder's logits
  fo.want_rec_parts = false;  // the metrics are elbo_mean's per-cell outputs
  const StepParts s = step(g, inputs(tape, mb), batch, fo);
  StepTensors st;
  st.loss = s.loss;
  st.objective = s.objective;
  st.metrics[0] = s.vae.reconstruction_loss;  // rec_expr + rec_acc
  st.metrics[1] = s.vae.kl_local;             // kl_z + kl_paired, unweighted
  return st;
}

std::vector<ParamGroup> MultiviModel::extra_optimizers() const {
  if (!has_classifier()) return {};
  return {{m_classifier.parameters(), AdamConfig::adversarial_classifier(m_weight_decay)}};
}

TrainConfig multivi_train_config() {
  TrainConfig c;
  c.max_epochs = 500;
  c.batch_size = 128;
  c.optimizer = AdamConfig::multivi();
  c.n_epochs_kl_warmup = 50;
  c.early_stopping = true;
  c.early_stopping_patience = 50;
  c.early_stopping_monitor = "reconstruction_loss_validation";
  c.restore_best_weights = false;  // scvi-tools keeps the last epoch's weights
  return c;
}

}  // namespace cuvi::models
