// Decoder implementations. Heads that a configuration never uses still exist (scvi-tools keeps them),
// but they are not evaluated, so they receive no gradient and Adam skips them, as torch does.
#include "models/layers/decoder_scvi.h"

namespace cuvi::models {

void DecoderScvi::declare(ParamStore& ps, const std::string& prefix, const FCLayersSpec& fc, int64_t n_genes) {
  m_fc.declare(ps, prefix + ".px_decoder", fc);
  const int64_t h = fc.n_out;
  m_scale_w = ps.add(prefix + ".px_scale_decoder.0.weight", Shape{n_genes, h}, Init::torch_linear(h));
  m_scale_b = ps.add(prefix + ".px_scale_decoder.0.bias", Shape{n_genes}, Init::torch_linear(h));
  m_r_w = ps.add(prefix + ".px_r_decoder.weight", Shape{n_genes, h}, Init::torch_linear(h));
  m_r_b = ps.add(prefix + ".px_r_decoder.bias", Shape{n_genes}, Init::torch_linear(h));
  m_drop_w = ps.add(prefix + ".px_dropout_decoder.weight", Shape{n_genes, h}, Init::torch_linear(h));
  m_drop_b = ps.add(prefix + ".px_dropout_decoder.bias", Shape{n_genes}, Init::torch_linear(h));
}

DecoderOut DecoderScvi::forward(Graph& g, TensorId z, TensorId codes, bool want_dropout, bool want_r,
                                bool want_scale) const {
  const TensorId hd = m_fc.forward(g, z, codes);
  DecoderOut o;
  // Biases of the two gene-wide heads: in the GEMM's output, or (no px_scale wanted) left to the likelihood tail.
  const TensorId scale_b = g.p(m_scale_b), drop_b = want_dropout ? g.p(m_drop_b) : kNoTensor;
  const bool defer_bias = !want_scale;
  if (defer_bias) {
    o.px_logits_bias = scale_b;
    o.px_dropout_bias = drop_b;
  }
  if (want_dropout) {  // the two gene-wide heads as one batched GEMM
    const std::vector<TensorId> heads = g.tape.apply(
        op("linear_pair"), {hd, g.p(m_scale_w), defer_bias ? kNoTensor : scale_b, g.p(m_drop_w),
                            defer_bias ? kNoTensor : drop_b});
    o.px_logits = heads[0];
    o.px_dropout = heads[1];
  } else {
    o.px_logits = g.apply("linear", {hd, g.p(m_scale_w), defer_bias ? kNoTensor : scale_b, kNoTensor});
  }
  if (want_scale) o.px_scale = g.apply("softmax_rows", {o.px_logits});
  if (want_r) o.px_r = g.apply("linear", {hd, g.p(m_r_w), g.p(m_r_b), kNoTensor});
  return o;
}

void LinearDecoderScvi::declare(ParamStore& ps, const std::string& prefix, const FCLayersSpec& fc) {
  FCLayersSpec spec = fc;
  spec.n_layers = 1;
  spec.activation = Activation::None;
  spec.bias = false;
  spec.dropout = 0;
  m_factor.declare(ps, prefix + ".factor_regressor", spec);
  m_dropout.declare(ps, prefix + ".px_dropout_decoder", spec);
}

DecoderOut LinearDecoderScvi::forward(Graph& g, TensorId z, TensorId codes, bool want_dropout, bool want_scale) const {
  DecoderOut o;
  o.px_logits = m_factor.forward(g, z, codes);
  if (want_scale) o.px_scale = g.apply("softmax_rows", {o.px_logits});
  if (want_dropout) o.px_dropout = m_dropout.forward(g, z, codes);
  return o;
}

}  // namespace cuvi::models
