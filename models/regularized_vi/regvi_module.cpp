// RegularizedVI forward pass and loss (regularizedvi.md §5-7), recorded on the tape:
//   inference  x~ = log1p(x) [|| cont] -> q(z_m), q(l_m) with l = ls + w (log max(sum x, 1) - glm) + enc;
//   generative rho = softplus(W h(z [|| cont], nn one-hots) + b), mu = e^l (rho + bg) Y,
//              theta = exp(m + sigma eps) per cell and feature, x ~ GammaPoisson(theta, theta / mu);
//   loss       mean_n(sum_m mask (recon + kl_weight KL_z + KL_l)) + (global terms) / N (the mean: op elbo_mean).
#include "models/regularized_vi/regvi_module.h"

#include <algorithm>
#include <cmath>

#include "models/layers/elbo.h"

namespace cuvi::models {
namespace {

const double kHalfLog2PiE = 0.5 * std::log(2.0 * M_PI * M_E);

OpParams scale_by(double f) {
  OpParams p;
  p.f[0] = f;
  return p;
}
// -log Gamma(y; a, rate b) summed over n entries: the part depending on y is (1-a) sum log y + b sum y;
// the constant -n (a log b - lgamma a) goes to global_constant().
double gamma_norm(double a, double b) { return a * std::log(b) - std::lgamma(a); }

TensorId empty_like_rows(Graph& g, TensorId x) {
  const Tensor& t = g.tape.value(x);
  return g.tape.input(Tensor(t.data, t.dtype, t.device, Shape{t.dim(0), 0}));
}

}  // namespace

double softplus_inverse(double v) { return v > 20.0 ? v : std::log(std::expm1(v)); }

RegviModule::RegviModule(const RegviConfig& config) : m_config(config) { m_config.validate(); }

std::string RegviModule::site(size_t m, const std::string& what) const {
  return m_config.multimodal ? what + "." + m_config.modalities[m].name : what;
}

void RegviModule::declare(ParamStore& ps) {
  const RegviConfig& c = m_config;
  m_mod.clear();
  m_mod.resize(c.modalities.size());
  const int64_t enc_cov = fc_onehot_width(c.n_cats_encoder);
  const int64_t dec_cov = fc_onehot_width(c.n_cats_nn);
  const int64_t E = c.total_ambient(), T = c.total_scaling();
  for (size_t i = 0; i < c.modalities.size(); ++i) {
    const RegviModality& md = c.modalities[i];
    ModalityParams& P = m_mod[i];
    P.names = RegviNames::of(c, md);
    const double log_sens = md.centering_sensitivity > 0 ? std::log(md.centering_sensitivity) : 0.0;

    EncoderSpec z;
    z.fc.n_in = md.n_features + c.n_continuous_cov;
    z.fc.n_out = md.n_hidden;
    z.fc.n_hidden = md.n_hidden;
    z.fc.n_layers = md.n_layers;
    z.fc.n_cov_columns = enc_cov;
    z.fc.inject_covariates = c.deeply_inject_covariates;
    z.fc.batch_norm = c.bn_encoder();
    z.fc.layer_norm = c.ln_encoder();
    z.fc.dropout = c.dropout_rate;
    z.n_output = md.n_latent;
    z.var_eps = c.var_eps;
    P.z_encoder.declare(ps, P.names.z_encoder, z);
    {  // the library encoder exists even with a size factor (unused then), as in regularizedvi
      EncoderSpec l = z;
      l.fc.n_out = l.fc.n_hidden = c.library_n_hidden;
      l.fc.n_layers = 1;
      l.n_output = 1;
      // regularizedvi then fills the mean head's bias with log(sensitivity): RegviModel::allocate does.
      P.l_encoder.declare(ps, P.names.l_encoder, l);
    }

    FCLayersSpec d;
    d.n_in = c.total_latent() + c.n_continuous_cov;
    d.n_out = md.n_hidden;
    d.n_hidden = md.n_hidden;
    d.n_layers = md.n_layers;
    d.n_cov_columns = dec_cov;
    d.inject_covariates = c.deeply_inject_covariates;
    d.batch_norm = c.bn_decoder();
    d.layer_norm = c.ln_decoder();
    d.dropout = 0;
    const std::string dec = P.names.decoder;
    P.px_decoder.declare(ps, dec + ".px_decoder", d);
    const int64_t G = md.n_features, H = md.n_hidden;
    P.scale_w = ps.add(dec + ".px_scale_decoder.0.weight", Shape{G, H}, Init::torch_linear(H));
    P.scale_b = ps.add(dec + ".px_scale_decoder.0.bias", Shape{G}, Init::torch_linear(H));
    P.r_w = ps.add(dec + ".px_r_decoder.weight", Shape{G, H}, Init::torch_linear(H));
    P.r_b = ps.add(dec + ".px_r_decoder.bias", Shape{G}, Init::torch_linear(H));
    P.drop_w = ps.add(dec + ".px_dropout_decoder.weight", Shape{G, H}, Init::torch_linear(H));
    P.drop_b = ps.add(dec + ".px_dropout_decoder.bias", Shape{G}, Init::torch_linear(H));

    // Dispersion posterior q(log theta) = N(m, sigma) and its prior rate (§4).
    const bool reg = c.regularise_dispersion;
    const double mean = md.dispersion_hyper_prior_mean;
    const double m_init = md.dispersion_prior_direction == "sqrt" ? 2 * std::log(mean) : -2 * std::log(mean);
    const double std_init = c.px_r_init_std > 0 ? c.px_r_init_std : (reg ? 0.1 : 1.0);
    const Init m_draw = reg ? Init::normal(m_init, std_init) : Init::normal(0, c.multimodal ? 1.0 : std_init);
    const Shape disp_shape = md.per_group_dispersion() ? Shape{G, c.n_dispersion_cats} : Shape{G};
    P.px_r_mu = ps.add(P.names.px_r_mu, disp_shape, m_draw);
    P.px_r_log_sigma = ps.add(P.names.px_r_log_sigma, disp_shape, Init::constant(std::log(0.1)));
    if (reg)
      P.rate_raw = ps.add(P.names.rate_raw, Shape{md.per_group_dispersion() ? c.n_dispersion_cats : 1},
                          Init::constant(softplus_inverse(1.0 / mean)));
    if (md.additive_background && E > 0)
      P.background = ps.add(P.names.background, Shape{G, E},
                            Init::normal(std::log(c.additive_bg_prior_alpha / c.additive_bg_prior_beta),
                                         c.multimodal ? 0.01 : c.additive_bg_init_std));
    if (md.feature_scaling) P.scaling = ps.add(P.names.scaling, Shape{T > 0 ? T : 1, G}, Init::zeros());
    if (c.residual_library_encoder) {
      P.w_mu = ps.add(P.names.w_mu, Shape{1}, Init::zeros());
      P.w_log_sigma = ps.add(P.names.w_log_sigma, Shape{1}, Init::constant(-2.0));
    }
    if (c.learned_library()) {
      P.lib_means = ps.add_buffer(P.names.lib_means, Shape{1, c.n_library_cats}, Init::zeros());
      P.lib_vars = ps.add_buffer(P.names.lib_vars, Shape{1, c.n_library_cats}, Init::constant(1));
      P.lib_global_mean = ps.add_buffer(P.names.lib_global_mean, Shape{1}, Init::zeros());
      P.lib_log_sens = ps.add_buffer(P.names.lib_log_sens, Shape{1}, Init::constant(log_sens));
    }
  }
  const int64_t M = int64_t(c.modalities.size());
  if (c.latent_mode == "single_encoder") {
    EncoderSpec j;
    j.fc.n_in = c.total_features() + c.n_continuous_cov;
    j.fc.n_hidden = 0;
    j.fc.n_layers = 0;
    for (const RegviModality& md : c.modalities) {  // widest and deepest of the modalities
      j.fc.n_hidden = std::max(j.fc.n_hidden, md.n_hidden);
      j.fc.n_layers = std::max(j.fc.n_layers, md.n_layers);
    }
    j.fc.n_out = j.fc.n_hidden;
    j.fc.n_cov_columns = enc_cov;
    j.fc.inject_covariates = c.deeply_inject_covariates;
    j.fc.batch_norm = c.bn_encoder();
    j.fc.layer_norm = c.ln_encoder();
    j.fc.dropout = c.dropout_rate;
    j.n_output = c.total_latent();
    j.var_eps = c.var_eps;
    m_joint.declare(ps, "joint_encoder", j);
  }
  if (c.latent_mode == "weighted_mean" && c.modality_weights == "universal")
    m_mix_params = ps.add("modality_weight_params", Shape{M}, Init::zeros());
  if (c.latent_mode == "weighted_mean" && c.modality_weights == "cell") {
    const int64_t in = c.total_latent() * M;
    m_mix_w = ps.add("modality_weight_net.weight", Shape{M, in}, Init::torch_linear(in));
    m_mix_b = ps.add("modality_weight_net.bias", Shape{M}, Init::torch_linear(in));
  }
}

double RegviModule::global_constant() const {
  const RegviConfig& c = m_config;
  double k = 0;
  for (size_t i = 0; i < c.modalities.size(); ++i) {
    const RegviModality& md = c.modalities[i];
    const ModalityParams& P = m_mod[i];
    if (P.w_mu >= 0 && c.learned_library()) k += -kHalfLog2PiE - std::log(c.library_obs_w_prior_rate);
    if (P.rate_raw >= 0) {
      const int64_t D = md.per_group_dispersion() ? c.n_dispersion_cats : 1;
      const int64_t n = md.n_features * D;
      k += -double(n) * kHalfLog2PiE;
      const double a = md.dispersion_hyper_prior_alpha, b = a * md.dispersion_hyper_prior_mean;
      k += -double(D) * gamma_norm(a, b);
    }
    if (P.scaling >= 0) {
      const int64_t rows = c.total_scaling() > 0 ? c.total_scaling() : 1;
      k += -double(rows * md.n_features) * gamma_norm(c.feature_scaling_prior_alpha, c.feature_scaling_prior_beta);
    }
    if (P.background >= 0 && c.regularise_background)
      k += -double(md.n_features * c.total_ambient()) * gamma_norm(c.additive_bg_prior_alpha, c.additive_bg_prior_beta);
  }
  return k;
}

RegviOutputs RegviModule::forward(Graph& g, const RegviInputs& in, TensorId global_const, double inv_n_obs,
                                  const RegviForwardOptions& opt) const {
  const RegviConfig& c = m_config;
  const size_t M = c.modalities.size();
  CUVI_CHECK(in.x.size() == M, "RegularizedVI: " + std::to_string(M) + " count matrices expected, got " +
                                   std::to_string(in.x.size()));
  RegviOutputs o;
  o.m.resize(M);
  const TensorId empty = empty_like_rows(g, in.x[0]);

  // Inference: q(z_m | x_m) for every modality, then q(l_m | x_m).
  std::vector<TensorId> u(M);
  for (size_t i = 0; i < M; ++i) {
    const ModalityParams& P = m_mod[i];
    RegviModalityOut& mo = o.m[i];
    u[i] = g.apply("log1p", {in.x[i]});
    if (in.cont != kNoTensor && c.n_continuous_cov > 0) u[i] = g.apply("concat_cols", {u[i], in.cont});
    if (c.multimodal) mo.mask = g.apply("is_positive", {g.apply("sum_rows", {in.x[i]})});
    if (c.latent_mode == "single_encoder") continue;
    const Encoder::Out qz = P.z_encoder.forward(g, u[i], in.enc_codes);
    mo.qz_m = qz.mean;
    mo.qz_v = qz.var;
    mo.z = opt.z_from_mean ? qz.mean
                           : g.apply("normal_rsample", {qz.mean, qz.var, normal_noise(g, site(i, "qz"), qz.mean)});
  }
  if (c.latent_mode == "single_encoder") {
    // One encoder on [log1p(x_m) (|| cont)] over the modalities, output sum K (§7).
    TensorId joint = u[0];
    for (size_t i = 1; i < M; ++i) joint = g.apply("concat_cols", {joint, u[i]});
    const Encoder::Out qz = m_joint.forward(g, joint, in.enc_codes);
    o.qz_m = qz.mean;
    o.qz_v = qz.var;
    o.z = opt.z_from_mean ? qz.mean : g.apply("normal_rsample", {qz.mean, qz.var, normal_noise(g, "qz", qz.mean)});
  }
  for (size_t i = 0; i < M; ++i) {
    const ModalityParams& P = m_mod[i];
    RegviModalityOut& mo = o.m[i];
    if (!c.learned_library()) {
      mo.library = in.log_size_factor;
      continue;
    }
    const Encoder::Out ql = P.l_encoder.forward(g, u[i], in.enc_codes);
    const TensorId lib_enc =
        opt.z_from_mean ? ql.mean : g.apply("normal_rsample", {ql.mean, ql.var, normal_noise(g, site(i, "ql"), ql.mean)});
    if (!c.residual_library_encoder) {
      mo.ql_m = ql.mean;
      mo.ql_v = ql.var;
      mo.library = lib_enc;
      continue;
    }
    // log_obs = log(max(total, 1)) = relu(log(total)) for totals >= 0.
    const int64_t n = g.tape.value(in.x[i]).dim(0);
    const TensorId log_obs =
        g.tape.reshape(g.apply("relu", {g.apply("log", {g.apply("sum_rows", {in.x[i]})})}), Shape{n, 1});
    const TensorId w_mu = g.p(P.w_mu), w_ls = g.p(P.w_log_sigma);
    const TensorId w_sigma = g.apply("exp", {w_ls});
    const TensorId w = g.apply("exp", {g.apply("add", {w_mu, g.apply("mul", {w_sigma, normal_noise(g, site(i, "w"), w_mu)})})});
    const TensorId centred = g.apply("sub", {log_obs, g.p(P.lib_global_mean)});
    const TensorId obs = g.apply("add", {g.apply("mul", {centred, w}), g.p(P.lib_log_sens)});
    mo.library = g.apply("add", {obs, lib_enc});
    mo.ql_m = g.apply("add", {obs, ql.mean});
    mo.ql_v = ql.var;
    if (opt.compute_loss) {
      // KL(LogNormal(w_mu, sigma) || Exp(r)) = -H + r E[w] - log r; constants in global_constant().
      const double r = c.library_obs_w_prior_rate;
      const TensorId half_var = g.apply("scale", {g.apply("exp", {g.apply("scale", {w_ls}, scale_by(2.0))})}, scale_by(0.5));
      const TensorId mean_w = g.apply("exp", {g.apply("add", {w_mu, half_var})});
      mo.kl_w = g.apply("sub", {g.apply("scale", {mean_w}, scale_by(r)), g.apply("add", {w_mu, w_ls})});
    }
  }

  // Generative: every decoder sees the full z [|| cont] and the nn-conditioning one-hots.
  if (c.latent_mode == "concatenation") {
    o.z = o.m[0].z;
    for (size_t i = 1; i < M; ++i) o.z = g.apply("concat_cols", {o.z, o.m[i].z});
  } else if (c.latent_mode == "weighted_mean") {
    // z = sum_m w_m z_m, w = masked softmax over the modalities a cell has (equal: mask / count).
    const int64_t n = g.tape.value(in.x[0]).dim(0);
    TensorId mask = g.tape.reshape(o.m[0].mask, Shape{n, 1});
    for (size_t i = 1; i < M; ++i) mask = g.apply("concat_cols", {mask, g.tape.reshape(o.m[i].mask, Shape{n, 1})});
    TensorId logits = g.apply("scale", {mask}, scale_by(0.0));
    if (m_mix_params >= 0) logits = g.apply("add", {logits, g.p(m_mix_params)});
    if (m_mix_w >= 0) {
      TensorId z_cat = o.m[0].z;
      for (size_t i = 1; i < M; ++i) z_cat = g.apply("concat_cols", {z_cat, o.m[i].z});
      logits = g.apply("linear", {z_cat, g.p(m_mix_w), g.p(m_mix_b), kNoTensor});
    }
    o.weights = g.apply("masked_softmax_rows", {logits, mask});
    for (size_t i = 0; i < M; ++i) {
      const TensorId part = g.apply("mul", {o.m[i].z, g.apply("slice_cols", {o.weights}, params_i({int64_t(i), 1}))});
      o.z = o.z == kNoTensor ? part : g.apply("add", {o.z, part});
    }
  }
  TensorId d_in = o.z;
  if (in.cont != kNoTensor && c.n_continuous_cov > 0) d_in = g.apply("concat_cols", {o.z, in.cont});
  const TensorId nn_codes = fc_onehot_width(c.n_cats_nn) > 0 ? in.nn_codes : kNoTensor;
  for (size_t i = 0; i < M; ++i) {
    const RegviModality& md = c.modalities[i];
    const ModalityParams& P = m_mod[i];
    RegviModalityOut& mo = o.m[i];
    const TensorId h = P.px_decoder.forward(g, d_in, nn_codes);
    mo.px_scale = g.apply("softplus", {g.apply("linear", {h, g.p(P.scale_w), g.p(P.scale_b), kNoTensor})});
    TensorId expr = mo.px_scale;
    if (P.background >= 0 && in.ambient_codes != kNoTensor) {
      // bg = concat one-hot(ambient) @ exp(beta)^T: the sum over keys of the exp(beta) columns.
      const TensorId bg = g.apply("linear", {empty, g.apply("exp", {g.p(P.background)}), kNoTensor, in.ambient_codes});
      expr = g.apply("add", {expr, bg});
    }
    mo.px_rate = g.apply("mul", {expr, g.apply("exp", {mo.library})});
    if (P.scaling >= 0) {
      const TensorId y = g.apply("scale", {g.apply("softplus", {g.p(P.scaling)})}, scale_by(1.0 / 0.7));  // (T, G)
      TensorId factor = kNoTensor;
      if (c.total_scaling() > 0) {
        for (TensorId code : in.scaling_codes) {
          const TensorId rows = g.apply("embedding", {y, code});
          factor = factor == kNoTensor ? rows : g.apply("add", {factor, rows});
        }
      } else {
        factor = g.tape.reshape(y, Shape{md.n_features});
      }
      // No scaling codes given (analyses removing feature scaling): factor 1.
      if (factor != kNoTensor) mo.px_rate = g.apply("mul", {mo.px_rate, factor});
    }
    // theta: the cell's dispersion group column (gene-batch) or one row shared by all cells (gene).
    // sigma = exp(log sigma) on the (G, D) parameter, then gathered: one exp per entry, not per cell.
    TensorId m_mean = g.p(P.px_r_mu);
    TensorId m_sigma = g.training ? g.apply("exp", {g.p(P.px_r_log_sigma)}) : kNoTensor;
    if (md.per_group_dispersion()) {
      m_mean = g.apply("linear", {empty, m_mean, kNoTensor, in.disp_code});
      if (g.training) m_sigma = g.apply("linear", {empty, m_sigma, kNoTensor, in.disp_code});
    }
    if (g.training) {
      const TensorId eps = normal_noise(g, site(i, "px_r"), m_mean);
      mo.theta = g.apply("exp", {g.apply("add", {m_mean, g.apply("mul", {m_sigma, eps})})});
    } else {
      mo.theta = g.apply("exp", {m_mean});
    }
    if (!opt.compute_loss) continue;
    mo.log_lik = g.apply("gamma_poisson_log_prob", {in.x[i], mo.px_rate, mo.theta});
    if (mo.qz_m != kNoTensor) mo.kl_z = g.apply("kl_normal", {mo.qz_m, mo.qz_v, kNoTensor, kNoTensor});
    if (c.learned_library()) {
      const TensorId pm = g.apply("linear", {empty, g.p(P.lib_means), kNoTensor, in.lib_code});
      const TensorId pv = g.apply("linear", {empty, g.p(P.lib_vars), kNoTensor, in.lib_code});
      mo.kl_l = g.apply("kl_normal", {mo.ql_m, mo.ql_v, pm, pv});
    }
  }
  if (!opt.compute_loss) return o;

  // Local terms, masked per modality in the multimodal model. The reconstruction terms go into elbo_mean (first
  // modality, then the second, or the masked sum of the others when there are more than two).
  auto masked = [&](const RegviModalityOut& mo, TensorId t) {
    return mo.mask == kNoTensor ? t : g.apply("mul", {t, mo.mask});
  };
  TensorId ll_2 = M > 1 ? o.m[1].log_lik : kNoTensor, mask_2 = M > 1 ? o.m[1].mask : kNoTensor;
  if (M > 2) {
    ll_2 = masked(o.m[1], ll_2);
    for (size_t i = 2; i < M; ++i) ll_2 = g.apply("add", {ll_2, masked(o.m[i], o.m[i].log_lik)});
    mask_2 = kNoTensor;
  }
  for (size_t i = 0; i < M; ++i) {
    const RegviModalityOut& mo = o.m[i];
    if (mo.kl_z != kNoTensor) {
      const TensorId kz = masked(mo, mo.kl_z);
      o.kl_z = o.kl_z == kNoTensor ? kz : g.apply("add", {o.kl_z, kz});
    }
    if (mo.kl_l != kNoTensor) {
      const TensorId kl = masked(mo, mo.kl_l);
      o.kl_l = o.kl_l == kNoTensor ? kl : g.apply("add", {o.kl_l, kl});
    }
  }
  if (c.latent_mode == "single_encoder") o.kl_z = g.apply("kl_normal", {o.qz_m, o.qz_v, kNoTensor, kNoTensor});
  // mean(recon + kl_weight KL_z + KL_l), recon and KL_z + KL_l per cell, one op (warm-up on KL_z only).
  const Elbo elbo = elbo_mean(g, {o.m[0].log_lik, o.kl_z, o.kl_l, o.m[0].mask, ll_2, mask_2});
  o.recon = elbo.reconstruction_loss;
  o.kl_local = elbo.kl_local;

  // Global terms (§6), each without its parameter-free constant.
  auto acc = [&](TensorId t) { o.global = o.global == kNoTensor ? t : g.apply("add", {o.global, t}); };
  for (size_t i = 0; i < M; ++i) {
    const RegviModality& md = c.modalities[i];
    const ModalityParams& P = m_mod[i];
    RegviModalityOut& mo = o.m[i];
    if (mo.kl_w != kNoTensor) acc(mo.kl_w);
    if (P.rate_raw >= 0) {
      // KL_disp = -sum(log sigma) - sum[log lambda_d - lambda_d t], t = theta^(-1/2) (or theta^(1/2)) at a
      // fresh draw theta = exp(m + sigma eps'); hyper = -sum_d log Gamma(lambda_d; a, a mean).
      const TensorId m_mean = g.p(P.px_r_mu), m_logs = g.p(P.px_r_log_sigma);
      const TensorId eps = normal_noise(g, site(i, "px_r_prior"), m_mean);
      const TensorId log_theta = g.apply("add", {m_mean, g.apply("mul", {g.apply("exp", {m_logs}), eps})});
      const double sgn = md.dispersion_prior_direction == "sqrt" ? 0.5 : -0.5;
      const TensorId t = g.apply("exp", {g.apply("scale", {log_theta}, scale_by(sgn))});
      const TensorId lambda = g.apply("softplus", {g.p(P.rate_raw)});  // (D)
      const TensorId log_lambda_sum = g.apply("sum_all", {g.apply("log", {lambda})});
      const double n_feat = double(md.n_features);
      TensorId kl = g.apply("scale", {g.apply("sum_all", {m_logs})}, scale_by(-1.0));
      kl = g.apply("sub", {kl, g.apply("scale", {log_lambda_sum}, scale_by(n_feat))});
      kl = g.apply("add", {kl, g.apply("sum_all", {g.apply("mul", {t, lambda})})});
      mo.dispersion_kl = kl;
      const double a = md.dispersion_hyper_prior_alpha, b = a * md.dispersion_hyper_prior_mean;
      mo.hyper_prior = g.apply("sub", {g.apply("scale", {g.apply("sum_all", {lambda})}, scale_by(b)),
                                       g.apply("scale", {log_lambda_sum}, scale_by(a - 1.0))});
      acc(kl);
      acc(mo.hyper_prior);
    }
    if (P.scaling >= 0) {
      const double a = c.feature_scaling_prior_alpha, b = c.feature_scaling_prior_beta;
      const TensorId y = g.apply("scale", {g.apply("softplus", {g.p(P.scaling)})}, scale_by(1.0 / 0.7));
      mo.scaling_penalty = g.apply("sub", {g.apply("scale", {g.apply("sum_all", {y})}, scale_by(b)),
                                           g.apply("scale", {g.apply("sum_all", {g.apply("log", {y})})}, scale_by(a - 1.0))});
      acc(mo.scaling_penalty);
    }
    if (P.background >= 0 && c.regularise_background) {
      const double a = c.additive_bg_prior_alpha, b = c.additive_bg_prior_beta;
      const TensorId beta = g.p(P.background);  // log of exp(beta) is beta itself
      mo.background_penalty =
          g.apply("sub", {g.apply("scale", {g.apply("sum_all", {g.apply("exp", {beta})})}, scale_by(b)),
                          g.apply("scale", {g.apply("sum_all", {beta})}, scale_by(a - 1.0))});
      acc(mo.background_penalty);
    }
    if (c.decoder_weight_l2 > 0) {
      TensorId ss = kNoTensor;
      std::vector<int> ws = P.px_decoder.weights();
      ws.push_back(P.scale_w);
      for (int w : ws) {
        const TensorId pw = g.p(w);
        const TensorId s = g.apply("sum_all", {g.apply("mul", {pw, g.apply("scale", {pw}, scale_by(1.0))})});
        ss = ss == kNoTensor ? s : g.apply("add", {ss, s});
      }
      mo.l2 = g.apply("scale", {ss}, scale_by(c.decoder_weight_l2));
      acc(mo.l2);
    }
    if (c.decoder_cov_weight_l2 > 0 && fc_onehot_width(c.n_cats_nn) > 0) {
      const int w0 = P.px_decoder.layers().at(0).weight;
      const TensorId pw = g.p(w0);
      const int64_t cols = g.tape.value(pw).dim(1), cov = fc_onehot_width(c.n_cats_nn);
      const TensorId cw = g.apply("slice_cols", {pw}, params_i({cols - cov, cov}));
      const TensorId sq = g.apply("mul", {cw, g.apply("scale", {cw}, scale_by(1.0))});
      acc(g.apply("scale", {g.apply("sum_all", {sq})}, scale_by(c.decoder_cov_weight_l2)));
    }
  }
  o.loss = elbo.loss;
  if (o.global != kNoTensor) {
    o.loss = g.apply("add", {o.loss, g.apply("scale", {o.global}, scale_by(inv_n_obs))});
    if (global_const != kNoTensor) o.loss = g.apply("add", {o.loss, global_const});
  }
  return o;
}

}  // namespace cuvi::models
