// FCLayers implementation: declares each layer's parameters with torch's default initialisation
// and records each layer as one fused fc_layer op (Linear, BatchNorm1d or LayerNorm, activation, inverted
// dropout); a layer with both norms records the unfused ops.
#include "models/layers/fc_layers.h"

#include "kernels/common/fc_layer.h"

namespace cuvi::models {

void FCLayers::declare(ParamStore& ps, const std::string& prefix, const FCLayersSpec& spec) {
  m_spec = spec;
  m_layers.clear();
  for (int i = 0; i < spec.n_layers; ++i) {
    const int64_t in = i == 0 ? spec.n_in : spec.n_hidden;
    const int64_t out = i == spec.n_layers - 1 ? spec.n_out : spec.n_hidden;
    Layer L;
    L.inject = (i == 0 || spec.inject_covariates) && spec.n_cov_columns > 0;
    const int64_t fan_in = in + (L.inject ? spec.n_cov_columns : 0);
    const std::string base = prefix + ".fc_layers.Layer " + std::to_string(i);
    L.weight = ps.add(base + ".0.weight", Shape{out, fan_in}, Init::torch_linear(fan_in));
    if (spec.bias) L.bias = ps.add(base + ".0.bias", Shape{out}, Init::torch_linear(fan_in));
    if (spec.batch_norm) {
      L.bn_weight = ps.add(base + ".1.weight", Shape{out}, Init::constant(1));
      L.bn_bias = ps.add(base + ".1.bias", Shape{out}, Init::zeros());
      L.bn_mean = ps.add_buffer(base + ".1.running_mean", Shape{out}, Init::zeros());
      L.bn_var = ps.add_buffer(base + ".1.running_var", Shape{out}, Init::constant(1));
    }
    L.dropout_site = base + ".4";  // torch module path of the Dropout in the layer's Sequential
    m_layers.push_back(L);
  }
}

TensorId FCLayers::forward(Graph& g, TensorId x, TensorId codes, const std::string& site_suffix) const {
  TensorId h = x;
  for (const Layer& L : m_layers) {
    const TensorId w = g.p(L.weight), b = L.bias >= 0 ? g.p(L.bias) : kNoTensor, c = L.inject ? codes : kNoTensor;
    const bool dropout = m_spec.dropout > 0 && g.training;
    if (!(m_spec.batch_norm && m_spec.layer_norm)) {
      // One fused op: Linear + bias + covariates -> norm -> activation -> dropout.
      OpParams p;
      p.i[0] = m_spec.batch_norm ? kFcNormBatch : m_spec.layer_norm ? kFcNormLayer : kFcNormNone;
      p.i[1] = m_spec.activation == Activation::Relu        ? kFcActRelu
               : m_spec.activation == Activation::LeakyRelu ? kFcActLeakyRelu
                                                            : kFcActNone;
      p.i[2] = g.training ? 1 : 0;
      p.f[1] = m_spec.bn_momentum;
      p.f[2] = m_spec.batch_norm ? m_spec.bn_eps : m_spec.ln_eps;
      p.f[3] = 0.01;
      TensorId keep = kNoTensor;
      if (dropout) {
        const std::string site = L.dropout_site + site_suffix;
        const Shape shape{g.tape.value(h).dim(0), g.params.entry(L.weight).shape[0]};
        keep = injected_noise(g, site, shape);
        if (keep == kNoTensor) {
          p.i[3] = int64_t(noise_stream(site));
          p.f[0] = m_spec.dropout;
        }
      }
      if (m_spec.batch_norm)
        h = g.apply("fc_layer", {h, w, b, c, g.p(L.bn_weight), g.p(L.bn_bias), g.p(L.bn_mean), g.p(L.bn_var), keep}, p);
      else
        h = g.apply("fc_layer", {h, w, b, c, kNoTensor, kNoTensor, kNoTensor, kNoTensor, keep}, p);
      continue;
    }
    h = g.apply("linear", {h, w, b, c});
    if (L.bn_weight >= 0) {
      OpParams p = params_i({g.training ? 1 : 0});
      p.f[0] = m_spec.bn_momentum;
      p.f[1] = m_spec.bn_eps;
      h = g.apply("batchnorm", {h, g.p(L.bn_weight), g.p(L.bn_bias), g.p(L.bn_mean), g.p(L.bn_var)}, p);
    }
    if (m_spec.layer_norm) h = g.apply("layernorm", {h, kNoTensor, kNoTensor, kNoTensor}, params_f({m_spec.ln_eps}));
    if (m_spec.activation == Activation::Relu) h = g.apply("relu", {h});
    if (m_spec.activation == Activation::LeakyRelu) h = g.apply("leaky_relu", {h}, params_f({0.01}));
    if (dropout) h = g.apply("mul", {h, dropout_mask(g, L.dropout_site + site_suffix, h, m_spec.dropout)});
  }
  return h;
}

std::vector<int> FCLayers::weights() const {
  std::vector<int> w;
  for (const Layer& L : m_layers) w.push_back(L.weight);
  return w;
}

}  // namespace cuvi::models
