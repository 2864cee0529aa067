// MRVI dense blocks: parameter declarations with torch's default initialisation and their forward
// passes recorded as linear / layernorm / activation ops (spec/mrvi.md §1).
#include "models/layers/resnet_mlp.h"

namespace cuvi::models {

TensorId mrvi_act(Graph& g, TensorId x, MrviAct a) { return g.apply(a == MrviAct::Gelu ? "gelu" : "relu", {x}); }

TensorId mrvi_layer_norm(Graph& g, TensorId x, int gamma, int beta) {
  return g.apply("layernorm", {x, gamma >= 0 ? g.p(gamma) : kNoTensor, beta >= 0 ? g.p(beta) : kNoTensor, kNoTensor},
                 params_f({kMrviLnEps}));
}

void declare_layer_norm(ParamStore& ps, const std::string& name, int64_t F, int* gamma, int* beta) {
  *gamma = ps.add(name + ".weight", Shape{F}, Init::constant(1));
  *beta = ps.add(name + ".bias", Shape{F}, Init::zeros());
}

void Dense::declare(ParamStore& ps, const std::string& name, int64_t n_in, int64_t n_out, bool with_bias) {
  weight = ps.add(name + ".weight", Shape{n_out, n_in}, Init::torch_linear(n_in));
  bias = with_bias ? ps.add(name + ".bias", Shape{n_out}, Init::torch_linear(n_in)) : -1;
}

TensorId Dense::forward(Graph& g, TensorId x) const {
  return g.apply("linear", {x, g.p(weight), bias >= 0 ? g.p(bias) : kNoTensor, kNoTensor});
}

void ResnetBlock::declare(ParamStore& ps, const std::string& prefix, int64_t n_in, int64_t n_out, MrviAct internal,
                          MrviAct output) {
  m_internal = internal;
  m_output = output;
  m_match = n_in != kResnetInnerWidth;
  m_fc1.declare(ps, prefix + ".fc1", n_in, kResnetInnerWidth);
  declare_layer_norm(ps, prefix + ".layer_norm1", kResnetInnerWidth, &m_ln1_w, &m_ln1_b);
  if (m_match) m_fc_match.declare(ps, prefix + ".fc_match", n_in, kResnetInnerWidth);
  m_fc2.declare(ps, prefix + ".fc2", kResnetInnerWidth, n_out);
  declare_layer_norm(ps, prefix + ".layer_norm2", n_out, &m_ln2_w, &m_ln2_b);
}

TensorId ResnetBlock::forward(Graph& g, TensorId x) const {
  TensorId h = mrvi_act(g, mrvi_layer_norm(g, m_fc1.forward(g, x), m_ln1_w, m_ln1_b), m_internal);
  h = g.apply("add", {h, m_match ? m_fc_match.forward(g, x) : x});
  return mrvi_act(g, mrvi_layer_norm(g, m_fc2.forward(g, h), m_ln2_w, m_ln2_b), m_output);
}

void Mlp::declare(ParamStore& ps, const std::string& prefix, int64_t n_in, int64_t n_out, int64_t n_hidden,
                  int n_layers, MrviAct act) {
  m_blocks.assign(size_t(n_layers), ResnetBlock());
  for (int i = 0; i < n_layers; ++i)
    m_blocks[size_t(i)].declare(ps, prefix + ".resnet_blocks." + std::to_string(i), i == 0 ? n_in : n_hidden,
                                n_hidden, act, act);
  m_fc.declare(ps, prefix + ".fc", n_layers > 0 ? n_hidden : n_in, n_out);
}

TensorId Mlp::forward(Graph& g, TensorId x) const {
  TensorId h = x;
  for (const ResnetBlock& b : m_blocks) h = b.forward(g, h);
  return m_fc.forward(g, h);
}

void NormalDistOutput::declare(ParamStore& ps, const std::string& prefix, int64_t n_in, int64_t n_out,
                               int64_t n_hidden, int n_layers) {
  m_blocks.assign(size_t(n_layers), ResnetBlock());
  for (int i = 0; i < n_layers; ++i)
    m_blocks[size_t(i)].declare(ps, prefix + ".resnet_blocks." + std::to_string(i), i == 0 ? n_in : n_hidden,
                                n_hidden, MrviAct::Relu, MrviAct::Relu);
  const int64_t h = n_layers > 0 ? n_hidden : n_in;
  m_mean.declare(ps, prefix + ".fc_mean", h, n_out);
  m_scale.declare(ps, prefix + ".fc_scale.0", h, n_out);
}

NormalDistOutput::Out NormalDistOutput::forward(Graph& g, TensorId x, TensorId scale_eps) const {
  TensorId h = x;
  for (const ResnetBlock& b : m_blocks) h = b.forward(g, h);
  Out o;
  o.mean = m_mean.forward(g, h);
  o.scale = g.apply("add", {g.apply("softplus", {m_scale.forward(g, h)}), scale_eps});
  return o;
}

}  // namespace cuvi::models
