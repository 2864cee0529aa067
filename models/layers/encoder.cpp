// Encoder implementation: hidden representation, mean head, exp variance head plus var_eps; or heads, sample
// and KL fused (normal_latent).
#include "models/layers/encoder.h"

namespace cuvi::models {

void Encoder::declare(ParamStore& ps, const std::string& prefix, const EncoderSpec& spec) {
  m_spec = spec;
  m_prefix = prefix;
  m_fc.declare(ps, prefix + ".encoder", spec.fc);
  const int64_t h = spec.fc.n_out;
  m_mean_w = ps.add(prefix + ".mean_encoder.weight", Shape{spec.n_output, h}, Init::torch_linear(h));
  m_mean_b = ps.add(prefix + ".mean_encoder.bias", Shape{spec.n_output}, Init::torch_linear(h));
  m_var_w = ps.add(prefix + ".var_encoder.weight", Shape{spec.n_output, h}, Init::torch_linear(h));
  m_var_b = ps.add(prefix + ".var_encoder.bias", Shape{spec.n_output}, Init::torch_linear(h));
}

Encoder::Out Encoder::forward(Graph& g, TensorId x, TensorId codes) const {
  const TensorId q = m_fc.forward(g, x, codes);
  Out o;
  o.mean = g.apply("linear", {q, g.p(m_mean_w), g.p(m_mean_b), kNoTensor});
  const TensorId raw = g.apply("linear", {q, g.p(m_var_w), g.p(m_var_b), kNoTensor});
  o.var = g.apply("exp", {raw}, params_f({m_spec.var_eps}));
  return o;
}

Encoder::Sampled Encoder::forward_sampled(Graph& g, TensorId x, TensorId codes, const std::string& noise_site,
                                          bool sample) const {
  const TensorId q = m_fc.forward(g, x, codes);
  OpParams p;
  p.f[0] = m_spec.var_eps;
  p.i[1] = sample ? 1 : 0;
  TensorId eps = kNoTensor;
  if (sample) {
    eps = injected_noise(g, noise_site, Shape{g.tape.value(q).dim(0), m_spec.n_output});
    if (eps == kNoTensor) p.i[0] = int64_t(noise_stream(noise_site));
  }
  const std::vector<TensorId> o =
      g.tape.apply(op("normal_latent"), {q, g.p(m_mean_w), g.p(m_mean_b), g.p(m_var_w), g.p(m_var_b), eps}, p);
  return {o[1], o[2], o[0], o[3]};
}

}  // namespace cuvi::models
