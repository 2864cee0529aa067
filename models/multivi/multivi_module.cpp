// MULTIVI forward pass and loss, in scvi-tools' order and constants (scvi-multivi.md §2.2-§2.4): encoders
// on raw counts (LeakyReLU, LayerNorm, var = exp(.)), masks from the row sums, joint posterior by the
// masked softmax of the modality weights (eps 1e-30; scvi-tools' absent protein modality adds its 1e-30
// to the denominator), z = qz_m + sqrt(qz_v) eps, BCE of p * d * sigmoid(region factors) against the
// binarised regions (one fused op), Jeffreys penalty with std = var^(1/4).
#include "models/multivi/multivi_module.h"

#include "models/layers/elbo.h"

namespace cuvi::models {
namespace {

constexpr double kMaskEps = 1e-30;      // masked_softmax's eps
constexpr double kAbsentProtein = 1e-30;  // the protein slot's masked exp in scvi-tools' 3-way mix

FCLayersSpec fc_spec(int64_t n_in, int64_t n_hidden, int n_layers, int64_t cov_columns, bool inject, bool bn, bool ln,
                     Activation act, double dropout) {
  FCLayersSpec s;
  s.n_in = n_in;
  s.n_out = n_hidden;
  s.n_hidden = n_hidden;
  s.n_layers = n_layers;
  s.n_cov_columns = cov_columns;
  s.inject_covariates = inject;
  s.batch_norm = bn;
  s.layer_norm = ln;
  s.activation = act;
  s.dropout = dropout;
  return s;
}

}  // namespace

MultiviModule::MultiviModule(const MultiviConfig& config) : m_config(config), m_layout(config.layout()) {
  m_config.validate();
}

void MultiviModule::declare(ParamStore& ps) {
  const MultiviConfig& c = m_config;
  const int64_t H = c.n_hidden, L = c.n_latent;
  const int64_t enc_cov = c.encode_covariates ? m_layout.columns : 0;
  const int64_t enc_cont = c.encode_covariates ? c.n_continuous_cov : 0;
  const bool bn_e = c.bn_encoder(), ln_e = c.ln_encoder(), bn_d = c.bn_decoder(), ln_d = c.ln_decoder();
  const bool deep = c.deeply_inject_covariates;
  m_px_r = ps.add("px_r", Shape{c.n_genes}, Init::normal(0, 1));

  EncoderSpec ze;
  ze.fc = fc_spec(c.n_genes + enc_cont, H, c.n_layers_encoder, enc_cov, deep, bn_e, ln_e, Activation::LeakyRelu,
                  c.dropout_rate);
  ze.n_output = L;
  ze.var_eps = 0;
  m_z_expr.declare(ps, "z_encoder_expression", ze);
  m_l_expr.declare(ps, "l_encoder_expression",
                   fc_spec(c.n_genes + enc_cont, H, c.n_layers_encoder, enc_cov, deep, bn_e, ln_e,
                           Activation::LeakyRelu, 0),
                   1, HeadActivation::LeakyRelu);
  FCLayersSpec dfc = fc_spec(L + c.n_continuous_cov, H, c.n_layers_decoder, m_layout.columns, deep, bn_d, ln_d,
                             Activation::Relu, 0);
  m_decoder_expr.declare(ps, "z_decoder_expression", dfc, c.n_genes);

  EncoderSpec za = ze;
  za.fc.n_in = c.n_regions + enc_cont;
  za.fc.inject_covariates = true;  // FCLayers' default: the accessibility encoder does not pass the option
  m_z_acc.declare(ps, "z_encoder_accessibility", za);
  if (c.region_factors) m_region_factors = ps.add("region_factors", Shape{c.n_regions}, Init::zeros());
  dfc.activation = Activation::LeakyRelu;
  m_decoder_acc.declare(ps, "z_decoder_accessibility", dfc, c.n_regions, HeadActivation::Sigmoid);
  m_l_acc.declare(ps, "l_encoder_accessibility",
                  fc_spec(c.n_regions + enc_cont, H, c.n_layers_encoder, enc_cov, deep, bn_e, ln_e,
                          Activation::LeakyRelu, 0),
                  1, HeadActivation::Sigmoid);

  // Modality weights over (expression, accessibility, protein): a buffer of ones, a learned 3-vector, or
  // learned per training cell.
  if (c.modality_weights == "equal")
    m_mod_weights = ps.add_buffer("mod_weights", Shape{3}, Init::constant(1));
  else if (c.modality_weights == "universal")
    m_mod_weights = ps.add("mod_weights", Shape{3}, Init::constant(1));
  else
    m_mod_weights = ps.add("mod_weights", Shape{c.n_obs, 3}, Init::constant(1));
}

TensorId MultiviModule::modality_weights(Graph& g, const MultiviInputs& in, TensorId masks) const {
  if (m_config.modality_weights == "cell") {
    CUVI_CHECK(in.cell != kNoTensor, "per-cell modality weights need the training-cell index of each cell");
    const TensorId w3 = g.apply("embedding", {g.p(m_mod_weights), in.cell});
    return g.apply("slice_cols", {w3}, params_i({0, 2}));
  }
  // (3) -> its first two entries, broadcast over the cells (the gradient of a learned vector sums rows).
  const TensorId w3 = g.tape.reshape(g.p(m_mod_weights), Shape{1, 3});
  const TensorId w2 = g.tape.reshape(g.apply("slice_cols", {w3}, params_i({0, 2})), Shape{2});
  const TensorId zeros = g.apply("scale", {masks}, params_f({0.0}));
  return g.apply("add", {zeros, w2});
}

TensorId MultiviModule::pair_penalty(Graph& g, const MultiviOutputs& o) const {
  const std::string& pen = m_config.modality_penalty;
  if (pen == "None") return kNoTensor;
  const TensorId paired = g.apply("mul", {o.mask_expr, o.mask_acc});
  if (pen == "Jeffreys") {
    // Normal(m, sqrt(sqrt(v))) on both sides: kl_normal takes the variance sqrt(v).
    const TensorId se = g.apply("sqrt", {o.qzv_expr}), sa = g.apply("sqrt", {o.qzv_acc});
    const TensorId kl_ea = g.apply("kl_normal", {o.qzm_expr, se, o.qzm_acc, sa});
    const TensorId kl_ae = g.apply("kl_normal", {o.qzm_acc, sa, o.qzm_expr, se});
    return g.apply("mul", {g.apply("add", {kl_ea, kl_ae}), paired});
  }
  // "MMD": the L2 distance of the means of each paired cell, summed over the minibatch and added to
  // every cell.
  const TensorId d = g.apply("sub", {o.qzm_expr, o.qzm_acc});
  const TensorId minus_d = g.apply("sub", {o.qzm_acc, o.qzm_expr});  // mul takes two distinct tensors
  const TensorId sq = g.apply("scale", {g.apply("mul", {d, minus_d})}, params_f({-1.0}));
  const TensorId norm = g.apply("sqrt", {g.apply("sum_rows", {sq})});
  const TensorId total = g.apply("sum_all", {g.apply("mul", {norm, paired})});
  return g.apply("add", {g.apply("scale", {paired}, params_f({0.0})), total});
}

MultiviOutputs MultiviModule::forward(Graph& g, const MultiviInputs& in, const MultiviForwardOptions& opt) const {
  const MultiviConfig& c = m_config;
  const int64_t n = g.tape.value(in.x).dim(0), G = c.n_genes, R = c.n_regions;
  CUVI_CHECK(g.tape.value(in.x).dim(1) == G + R, "MULTIVI input has " + std::to_string(g.tape.value(in.x).dim(1)) +
                                                    " columns, the model needs " + std::to_string(G + R));
  MultiviOutputs o;

  // Inference: the two modalities, their masks, encoders and library factors.
  o.x_rna = g.apply("slice_cols", {in.x}, params_i({0, G}));
  o.x_atac = g.apply("slice_cols", {in.x}, params_i({G, R}));
  o.mask_expr = g.apply("is_positive", {g.apply("sum_rows", {o.x_rna})});
  o.mask_acc = g.apply("is_positive", {g.apply("sum_rows", {o.x_atac})});
  TensorId u_rna = o.x_rna, u_atac = o.x_atac;
  if (c.encode_covariates && in.cont != kNoTensor) {
    u_rna = g.apply("concat_cols", {u_rna, in.cont});
    u_atac = g.apply("concat_cols", {u_atac, in.cont});
  }
  const TensorId enc_codes = c.encode_covariates ? in.enc_codes : kNoTensor;
  const Encoder::Out qa = m_z_acc.forward(g, u_atac, enc_codes);
  const Encoder::Out qe = m_z_expr.forward(g, u_rna, enc_codes);
  o.qzm_acc = qa.mean;
  o.qzv_acc = qa.var;
  o.qzm_expr = qe.mean;
  o.qzv_expr = qe.var;
  o.libsize_expr = m_l_expr.forward(g, u_rna, enc_codes);
  o.libsize_acc = m_l_acc.forward(g, u_atac, enc_codes);

  // Joint posterior over the modalities each cell has.
  const TensorId masks = g.apply("concat_cols", {g.tape.reshape(o.mask_expr, Shape{n, 1}),
                                                 g.tape.reshape(o.mask_acc, Shape{n, 1})});
  const TensorId w = modality_weights(g, in, masks);
  OpParams mix = params_f({kMaskEps, kAbsentProtein});
  o.qz_m = g.apply("mix_modalities", {w, masks, g.apply("concat_cols", {o.qzm_expr, o.qzm_acc})}, mix);
  mix.i[0] = 1;  // variances mix with sqrt of the weights
  o.qz_v = g.apply("mix_modalities", {w, masks, g.apply("concat_cols", {o.qzv_expr, o.qzv_acc})}, mix);
  TensorId z_raw = o.qz_m;
  if (!opt.z_from_mean) z_raw = g.apply("normal_rsample", {o.qz_m, o.qz_v, normal_noise(g, "qz", o.qz_m)});
  // scvi-tools decodes the untransformed qz_m when use_z_mean, also for a "ln" latent.
  o.z = c.latent_distribution == "ln" && !opt.z_from_mean ? g.apply("softmax_rows", {z_raw}) : z_raw;
  if (!opt.decode) return o;

  // Generative: decoder input [z, cont], one-hots of [batch] + categoricals injected.
  TensorId d_in = o.z;
  if (in.cont != kNoTensor && c.n_continuous_cov > 0) d_in = g.apply("concat_cols", {o.z, in.cont});
  o.p_logits = m_decoder_acc.logits(g, d_in, in.dec_codes);
  if (opt.want_p) o.p = m_decoder_acc.activate(g, o.p_logits);
  const bool zi = c.gene_likelihood == "zinb";
  const DecoderOut d = m_decoder_expr.forward(g, d_in, in.dec_codes, zi, false);
  o.px_scale = d.px_scale;
  o.px_dropout = d.px_dropout;
  o.px_rate = g.apply("mul", {d.px_scale, g.apply("exp", {o.libsize_expr})});
  o.theta = g.apply("exp", {g.p(m_px_r)});
  if (!opt.compute_loss) return o;

  // Loss.
  // BCE of p * d * sigmoid(region factors) against the binarised regions, fused over (N, R).
  const TensorId f = m_region_factors >= 0 ? g.p(m_region_factors) : kNoTensor;
  const TensorId ll_acc = g.apply("accessibility_log_prob", {o.x_atac, o.p_logits, o.libsize_acc, f});
  TensorId ll_expr;
  if (c.gene_likelihood == "zinb")
    ll_expr = g.apply("zinb_log_prob", {o.x_rna, o.px_rate, o.theta, o.px_dropout}, params_f({1e-8}));
  else if (c.gene_likelihood == "nb")
    ll_expr = g.apply("nb_log_prob", {o.x_rna, o.px_rate, o.theta}, params_f({1e-8}));
  else
    ll_expr = g.apply("poisson_log_prob", {o.x_rna, o.px_rate});
  o.kl_z = g.apply("kl_normal", {o.qz_m, o.qz_v, kNoTensor, kNoTensor});
  o.kl_paired = pair_penalty(g, o);
  // mean(-(mask_expr ll_expr + mask_acc ll_acc) + kl_weight KL_z + penalty) and the per-cell metrics, one op.
  const Elbo elbo = elbo_mean(g, {ll_expr, o.kl_z, o.kl_paired, o.mask_expr, ll_acc, o.mask_acc});
  o.loss = elbo.loss;
  o.reconstruction_loss = elbo.reconstruction_loss;
  o.kl_local = elbo.kl_local;
  if (opt.want_rec_parts) {
    o.rec_expr = g.apply("scale", {g.apply("mul", {ll_expr, o.mask_expr})}, params_f({-1.0}));
    o.rec_acc = g.apply("scale", {g.apply("mul", {ll_acc, o.mask_acc})}, params_f({-1.0}));
  }
  return o;
}

}  // namespace cuvi::models
