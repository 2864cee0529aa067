// Classifier and AdversarialTrainingPlan.loss_adversarial_classifier: the fooling loss as
// -(sum_k log p_k - log p_true) / (K - 1), the true-class loss as -log p_true, both averaged over cells.
#include "models/layers/classifier.h"

namespace cuvi::models {

void Classifier::declare(ParamStore& ps, const std::string& prefix, const ClassifierSpec& spec) {
  m_spec = spec;
  const size_t first = ps.entries().size();
  FCLayersSpec fc;
  fc.n_in = spec.n_input;
  fc.n_out = spec.n_hidden;
  fc.n_hidden = spec.n_hidden;
  fc.n_layers = spec.n_layers;
  fc.batch_norm = true;
  fc.layer_norm = false;
  fc.activation = Activation::Relu;
  fc.dropout = spec.dropout_rate;
  m_fc.declare(ps, prefix + ".classifier.0", fc);
  m_w = ps.add(prefix + ".classifier.1.weight", Shape{spec.n_labels, spec.n_hidden}, Init::torch_linear(spec.n_hidden));
  m_b = ps.add(prefix + ".classifier.1.bias", Shape{spec.n_labels}, Init::torch_linear(spec.n_hidden));
  m_params.clear();
  for (size_t id = first; id < ps.entries().size(); ++id)
    if (ps.entry(int(id)).trainable) m_params.push_back(int(id));
}

TensorId Classifier::logits(Graph& g, TensorId x, const std::string& pass) const {
  const TensorId h = m_fc.forward(g, x, kNoTensor, "#" + pass);
  return g.apply("linear", {h, g.p(m_w), g.p(m_b), kNoTensor});
}

TensorId Classifier::loss(Graph& g, TensorId logits, TensorId labels, bool predict_true_class) const {
  const TensorId log_p = g.apply("log_softmax_rows", {logits});
  const TensorId own = g.apply("pick_cols", {log_p, labels});
  if (predict_true_class) return g.apply("scale", {g.apply("mean_all", {own})}, params_f({-1.0}));
  const int64_t K = m_spec.n_labels;
  const TensorId others = g.apply("sub", {g.apply("sum_rows", {log_p}), own});
  return g.apply("scale", {g.apply("mean_all", {others})}, params_f({-1.0 / double(K - 1)}));
}

}  // namespace cuvi::models
