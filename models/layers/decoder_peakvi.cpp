// DecoderPeakVI / LibrarySizeEncoder: hidden layers, one Linear head, sigmoid or LeakyReLU (slope 0.01).
#include "models/layers/decoder_peakvi.h"

namespace cuvi::models {

void DecoderPeakVi::declare(ParamStore& ps, const std::string& prefix, const FCLayersSpec& fc, int64_t n_out,
                            HeadActivation act) {
  m_fc.declare(ps, prefix + ".px_decoder", fc);
  m_act = act;
  const int64_t h = fc.n_out;
  m_w = ps.add(prefix + ".output.0.weight", Shape{n_out, h}, Init::torch_linear(h));
  m_b = ps.add(prefix + ".output.0.bias", Shape{n_out}, Init::torch_linear(h));
}

TensorId DecoderPeakVi::logits(Graph& g, TensorId x, TensorId codes) const {
  const TensorId h = m_fc.forward(g, x, codes);
  return g.apply("linear", {h, g.p(m_w), g.p(m_b), kNoTensor});
}

TensorId DecoderPeakVi::activate(Graph& g, TensorId y) const {
  if (m_act == HeadActivation::Sigmoid) return g.apply("sigmoid", {y});
  return g.apply("leaky_relu", {y}, params_f({0.01}));
}

}  // namespace cuvi::models
