// scvi's Classifier (scvi-multivi.md §2.5): FCLayers (BatchNorm, ReLU, dropout) then Linear to logits,
// "<prefix>.classifier.0.*" and "<prefix>.classifier.1.{weight,bias}"; and the adversarial training
// plan's two losses on its log-softmax: fooling (uniform over the other classes) and the true class.
#pragma once
#include "models/layers/fc_layers.h"

namespace cuvi::models {

struct ClassifierSpec {
  int64_t n_input = 0, n_hidden = 32, n_labels = 2;
  int n_layers = 2;
  double dropout_rate = 0.1;
};

class Classifier {
 public:
  void declare(ParamStore& ps, const std::string& prefix, const ClassifierSpec& spec);
  // x (N, n_input) -> logits (N, n_labels); pass names the pass's dropout draws.
  TensorId logits(Graph& g, TensorId x, const std::string& pass) const;
  // mean_n -sum_k t_nk log_softmax_k with t the one-hot of `labels` (true class), or its complement
  // divided by K - 1 (fooling: every other class equally likely). labels (N) i32.
  TensorId loss(Graph& g, TensorId logits, TensorId labels, bool predict_true_class) const;
  std::vector<int> parameters() const { return m_params; }
  const ClassifierSpec& spec() const { return m_spec; }

 private:
  ClassifierSpec m_spec;
  FCLayers m_fc;
  int m_w = -1, m_b = -1;
  std::vector<int> m_params;
};

}  // namespace cuvi::models
