// FCLayers: scvi's fully-connected block (scvi-multivi.md §1.2). Each layer is
// Linear (one-hot covariates injected) -> BatchNorm -> LayerNorm -> activation -> Dropout,
// with scvi-tools' parameter names ("<prefix>.fc_layers.Layer i.0.weight", ...).
#pragma once
#include <string>
#include <vector>

#include "models/layers/graph.h"

namespace cuvi::models {

enum class Activation { None, Relu, LeakyRelu };

struct FCLayersSpec {
  int64_t n_in = 0, n_out = 0, n_hidden = 128;
  int n_layers = 1;
  int64_t n_cov_columns = 0;     // one-hot width of the injected categoricals (those with > 1 category)
  bool inject_covariates = true; // into layers after the first (the first always gets them)
  bool batch_norm = true, layer_norm = false;
  Activation activation = Activation::Relu;
  bool bias = true;
  double dropout = 0.1;
  double bn_momentum = 0.01, bn_eps = 1e-3, ln_eps = 1e-5;
};

class FCLayers {
 public:
  void declare(ParamStore& ps, const std::string& prefix, const FCLayersSpec& spec);
  // x: (N, n_in); codes: (N, J) i32 one-hot column offsets, or kNoTensor when no covariates.
  // site_suffix tells apart the dropout draws of several passes through the same layers in one step.
  TensorId forward(Graph& g, TensorId x, TensorId codes, const std::string& site_suffix = "") const;
  const FCLayersSpec& spec() const { return m_spec; }
  // Linear weight ids of each layer (LinearSCVI loadings, decoder L2 penalties).
  std::vector<int> weights() const;
  struct Layer {
    int weight = -1, bias = -1, bn_weight = -1, bn_bias = -1, bn_mean = -1, bn_var = -1;
    bool inject = false;
    std::string dropout_site;
  };
  const std::vector<Layer>& layers() const { return m_layers; }

 private:
  FCLayersSpec m_spec;
  std::vector<Layer> m_layers;
};

}  // namespace cuvi::models
