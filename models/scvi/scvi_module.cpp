// SCVI forward pass and loss. Order and constants follow scvi-multivi.md §1.3–1.5: observed
// log library from raw counts, log1p encoder input, z = m + sqrt(v) eps, px_rate = exp(l) px_scale,
// theta = exp(px_r), loss = mean(-log p(x|z,l) + kl_weight * KL_z + KL_l); NB/ZINB through px_log_prob.
#include "models/scvi/scvi_module.h"

#include <cmath>

#include "models/layers/elbo.h"

namespace cuvi::models {

ScviModule::ScviModule(const ScviConfig& config) : m_config(config), m_layout(CovariateLayout::of(config)) {
  m_config.validate();
}

void ScviModule::declare(ParamStore& ps) {
  const ScviConfig& c = m_config;
  const bool linear = c.model == "LinearSCVI";
  if (c.dispersion == "gene") m_px_r = ps.add("px_r", Shape{c.n_genes}, Init::normal(0, 1));
  if (c.dispersion == "gene-batch") m_px_r = ps.add("px_r", Shape{c.n_genes, c.n_batch}, Init::normal(0, 1));
  if (c.dispersion == "gene-label") m_px_r = ps.add("px_r", Shape{c.n_genes, c.n_labels}, Init::normal(0, 1));
  if (!c.use_observed_lib_size) {
    m_lib_means = ps.add_buffer("library_log_means", Shape{1, c.n_batch}, Init::zeros());
    m_lib_vars = ps.add_buffer("library_log_vars", Shape{1, c.n_batch}, Init::constant(1));
  }
  const int64_t n_in_enc = c.n_genes + (c.encode_covariates ? c.n_continuous_cov : 0);
  const int64_t enc_cov = (c.encode_covariates && !linear) ? m_layout.columns : 0;
  EncoderSpec z;
  z.fc.n_in = n_in_enc;
  z.fc.n_out = c.n_hidden;
  z.fc.n_hidden = c.n_hidden;
  z.fc.n_layers = c.n_layers;
  z.fc.n_cov_columns = enc_cov;
  z.fc.inject_covariates = c.deeply_inject_covariates;
  z.fc.batch_norm = linear ? true : c.bn_encoder();
  z.fc.layer_norm = linear ? false : c.ln_encoder();
  z.fc.dropout = c.dropout_rate;
  z.n_output = c.n_latent;
  z.var_eps = c.var_eps;
  m_z_encoder.declare(ps, "z_encoder", z);
  EncoderSpec l = z;
  l.fc.n_layers = 1;
  l.n_output = 1;
  m_l_encoder.declare(ps, "l_encoder", l);

  FCLayersSpec d;
  d.n_in = c.n_latent + c.n_continuous_cov;
  d.n_out = linear ? c.n_genes : c.n_hidden;
  d.n_hidden = c.n_hidden;
  d.n_layers = c.n_layers;
  d.n_cov_columns = m_layout.columns;
  d.inject_covariates = c.deeply_inject_covariates;
  d.batch_norm = c.bn_decoder();
  d.layer_norm = c.ln_decoder();
  d.dropout = 0;
  if (linear)
    m_linear_decoder.declare(ps, "decoder", d);
  else
    m_decoder.declare(ps, "decoder", d, c.n_genes);
}

// log theta = px_r: (N, G) from the decoder (gene-cell), the parameter (G) (gene), or the column of the
// (G, B) parameter for each cell's batch / label (one_hot(code) @ px_r^T).
TensorId ScviModule::log_theta(Graph& g, const ScviInputs& in, const DecoderOut& d) const {
  const std::string& disp = m_config.dispersion;
  if (disp == "gene-cell") return d.px_r;
  if (disp == "gene") return g.p(m_px_r);
  const TensorId code = disp == "gene-batch" ? in.dec_batch : in.labels;
  const int64_t n = g.tape.value(in.x).dim(0);
  const Tensor& x = g.tape.value(in.x);
  const TensorId empty = g.tape.input(Tensor(x.data, x.dtype, x.device, Shape{n, 0}));
  return g.apply("linear", {empty, g.p(m_px_r), kNoTensor, code});
}

ScviOutputs ScviModule::forward(Graph& g, const ScviInputs& in, const ScviForwardOptions& opt) const {
  const ScviConfig& c = m_config;
  const bool linear = c.model == "LinearSCVI";
  const int64_t n = g.tape.value(in.x).dim(0);
  ScviOutputs o;

  // Inference: library, encoder input, q(z|x), q(l|x).
  if (c.use_observed_lib_size && in.log_library != kNoTensor) {
    o.library = in.log_library;  // from the loader's gather pass
  } else if (c.use_observed_lib_size) {
    const TensorId total = g.apply("sum_rows", {in.x});
    o.library = g.tape.reshape(g.apply("log", {total}), Shape{n, 1});
  }
  TensorId u = in.x_log1p != kNoTensor ? in.x_log1p : g.apply("log1p", {in.x});
  if (c.encode_covariates && in.cont != kNoTensor) u = g.apply("concat_cols", {u, in.cont});
  const TensorId enc_codes = (c.encode_covariates && !linear) ? in.enc_codes : kNoTensor;
  if (c.latent_distribution == "ln") {
    const Encoder::Out qz = m_z_encoder.forward(g, u, enc_codes);
    o.qz_m = qz.mean;
    o.qz_v = qz.var;
    TensorId z_raw = qz.mean;
    if (!opt.z_from_mean) z_raw = g.apply("normal_rsample", {qz.mean, qz.var, normal_noise(g, "qz", qz.mean)});
    o.z = g.apply("softmax_rows", {z_raw});
  } else {
    // Heads, sample and KL against N(0, 1) in one op each way (the 10-wide middle).
    const Encoder::Sampled qz = m_z_encoder.forward_sampled(g, u, enc_codes, "qz", !opt.z_from_mean);
    o.qz_m = qz.mean;
    o.qz_v = qz.var;
    o.z = qz.z;
    o.kl_z = qz.kl;
  }
  if (!c.use_observed_lib_size) {
    const Encoder::Out ql = m_l_encoder.forward(g, u, enc_codes);
    o.ql_m = ql.mean;
    o.ql_v = ql.var;
    o.library = opt.z_from_mean ? ql.mean
                                : g.apply("normal_rsample", {ql.mean, ql.var, normal_noise(g, "ql", ql.mean)});
  }

  // Generative: decoder input [z, cont], one-hots of [batch] + categoricals injected.
  TensorId d_in = o.z;
  if (in.cont != kNoTensor && c.n_continuous_cov > 0) d_in = g.apply("concat_cols", {o.z, in.cont});
  const bool zi = c.gene_likelihood == "zinb";
  // NB / ZINB losses go through the fused tail px_log_prob (softmax -> px_rate -> log-prob and all its
  // gradients in one op); px_scale, px_rate and theta are recorded only where asked for.
  const bool fused = opt.compute_loss && c.gene_likelihood != "poisson";
  const bool want_px = !fused || opt.want_px;
  const DecoderOut d = linear ? m_linear_decoder.forward(g, d_in, in.dec_codes, zi, want_px)
                              : m_decoder.forward(g, d_in, in.dec_codes, zi, c.dispersion == "gene-cell", want_px);
  if (d.px_dropout_bias == kNoTensor) o.px_dropout = d.px_dropout;  // bias-free logits stay inside the loss
  const TensorId log_th = c.gene_likelihood != "poisson" ? log_theta(g, in, d) : kNoTensor;
  if (want_px) {
    o.px_scale = d.px_scale;
    o.px_rate = g.apply("mul", {d.px_scale, g.apply("exp", {o.library})});
    if (log_th != kNoTensor) o.theta = g.apply("exp", {log_th});
  }
  if (!opt.compute_loss) return o;

  // Loss.
  if (fused) {
    OpParams p = params_f({1e-8});
    p.i[0] = g.training ? 0 : 1;  // evaluation: the value only, no gradients saved
    o.log_lik = g.apply("px_log_prob", {in.x, d.px_logits, o.library, log_th, zi ? d.px_dropout : kNoTensor,
                                        d.px_logits_bias, zi ? d.px_dropout_bias : kNoTensor},
                        p);
  } else
    o.log_lik = g.apply("poisson_log_prob", {in.x, o.px_rate});
  if (o.kl_z == kNoTensor) o.kl_z = g.apply("kl_normal", {o.qz_m, o.qz_v, kNoTensor, kNoTensor});
  if (!c.use_observed_lib_size) {
    // Prior N(mu_b, sqrt(var_b)) of the cell's observed batch: a one-hot lookup of the (1, B) buffers.
    const Tensor& x = g.tape.value(in.x);
    const TensorId empty = g.tape.input(Tensor(x.data, x.dtype, x.device, Shape{n, 0}));
    const TensorId pm = g.apply("linear", {empty, g.p(m_lib_means), kNoTensor, in.batch});
    const TensorId pv = g.apply("linear", {empty, g.p(m_lib_vars), kNoTensor, in.batch});
    o.kl_l = g.apply("kl_normal", {o.ql_m, o.ql_v, pm, pv});
  }
  // mean(-log_lik + kl_weight KL_z + KL_l) and the per-cell metrics, one op.
  ElboTerms t;
  t.log_lik = o.log_lik;
  t.kl_z = o.kl_z;
  t.kl_l = o.kl_l;
  const Elbo elbo = elbo_mean(g, t);
  o.loss = elbo.loss;
  o.reconstruction_loss = elbo.reconstruction_loss;
  o.kl_local = elbo.kl_local;
  return o;
}

std::vector<float> ScviModule::loadings(const ParamStore& ps) const {
  CUVI_CHECK(m_config.model == "LinearSCVI", "gene loadings exist only for LinearSCVI");
  const FCLayers::Layer& L = m_linear_decoder.factor_regressor().layers().at(0);
  const int64_t G = m_config.n_genes, L_dim = m_config.n_latent;
  const int64_t cols = ps.entry(L.weight).shape[1];
  const std::vector<float> w = ps.get(L.weight);
  std::vector<float> out(G * L_dim);
  std::vector<float> gamma, var;
  if (L.bn_weight >= 0) {
    gamma = ps.get(L.bn_weight);
    var = ps.get(L.bn_var);
  }
  for (int64_t gi = 0; gi < G; ++gi) {
    const double s = gamma.empty() ? 1.0 : gamma[gi] / std::sqrt(double(var[gi]) + 1e-3);
    for (int64_t k = 0; k < L_dim; ++k) out[gi * L_dim + k] = float(s * w[gi * cols + k]);
  }
  return out;
}

}  // namespace cuvi::models
