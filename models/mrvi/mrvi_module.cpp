// MRVI forward pass and loss (spec/mrvi.md §2-3): u = mu + sigma eps from q(u|x,s), z = z_base(u) +
// eps(u, s), NB likelihood with mean softmax(logits) * exp(log library), KL terms and the mean loss.
#include "models/mrvi/mrvi_module.h"

#include <cmath>
#include <vector>

#include "models/layers/elbo.h"

namespace cuvi::models {
namespace {

constexpr double kQuScaleEps = 1e-5;     // NormalDistOutputNN scale_eps (§1)
constexpr double kQepsScaleEps = 1e-3;   // q(eps) scale offset when use_map is off (§2)
constexpr double kLabelOffset = 10.0;    // logit boost of the cell's label component (§2)
constexpr double kNbEps = 1e-8;          // log_nb_positive eps (§2)

// The attention block of qz or px: query of width query_dim, the sample / batch embedding as key and
// value (E wide, E tokens), out_dim outputs.
AttentionSpec attention_spec(const MrviAttentionOptions& o, int64_t query_dim, int64_t out_dim) {
  AttentionSpec a;
  a.query_dim = query_dim;
  a.kv_dim = o.n_latent_sample;
  a.out_dim = out_dim;
  a.outerprod_dim = o.n_latent_sample;
  a.n_channels = o.n_channels;
  a.n_heads = o.n_heads;
  a.dropout_rate = o.dropout_rate;
  a.n_hidden_mlp = o.n_hidden;
  a.n_layers_mlp = o.n_layers;
  a.stop_gradients_mlp = o.stop_gradients_mlp;
  return a;
}

OpParams scale_by(double f) {
  OpParams p;
  p.f[0] = f;
  return p;
}

}  // namespace

struct MrviModule::Constants {
  Backend* backend = nullptr;
  DeviceBuffer buf;
  Tensor qu_scale_eps, qeps_scale_eps, zero, u_prior_std, u_prior_var;  // (1)
  Tensor label_offsets;                                                  // (K, K) 10 * I
  Tensor inv_n_obs;                                                      // (S, 1)
  std::map<int64_t, DeviceBuffer> pair_codes;  // minibatch size B -> (2 B^2) i32: cell i, then label row j
};

MrviModule::MrviModule(const MrviConfig& config) : m_config(config) { m_config.validate(); }
MrviModule::~MrviModule() = default;

void MrviModule::declare(ParamStore& ps) {
  const MrviConfig& c = m_config;
  const int64_t G = c.n_genes, S = c.n_sample, H = c.encoder_n_hidden, L = c.n_latent, Lu = c.n_latent_u;
  // qu = EncoderXU
  m_qu_fc1.declare(ps, "qu.fc1", G, H);
  m_cn1_gamma = ps.add("qu.conditional_norm1.gamma_embedding.weight", Shape{S, H}, Init::normal(1, 0.02));
  m_cn1_beta = ps.add("qu.conditional_norm1.beta_embedding.weight", Shape{S, H}, Init::zeros());
  m_qu_fc2.declare(ps, "qu.fc2", H, H);
  m_cn2_gamma = ps.add("qu.conditional_norm2.gamma_embedding.weight", Shape{S, H}, Init::normal(1, 0.02));
  m_cn2_beta = ps.add("qu.conditional_norm2.beta_embedding.weight", Shape{S, H}, Init::zeros());
  m_qu_sample_embed = ps.add("qu.sample_embed.weight", Shape{S, H}, Init::normal(0, 0.1));
  m_qu_out.declare(ps, "qu.output_nn", H, Lu, H, c.encoder_n_layers);
  // qz = EncoderUZ
  declare_layer_norm(ps, "qz.layer_norm", Lu, &m_qz_ln_w, &m_qz_ln_b);
  m_qz_embed = ps.add("qz.embedding.weight", Shape{S, c.qz.n_latent_sample}, Init::normal(0, 0.1));
  declare_layer_norm(ps, "qz.layer_norm_embed", c.qz.n_latent_sample, &m_qz_ln_embed_w, &m_qz_ln_embed_b);
  m_qz_att.declare(ps, "qz.attention_block", attention_spec(c.qz, Lu, (c.qz_use_map ? 1 : 2) * L));
  if (c.has_z_base_layer()) m_qz_fc.declare(ps, "qz.fc", Lu, L);
  // px = DecoderZXAttention
  declare_layer_norm(ps, "px.layer_norm", L, &m_px_ln_w, &m_px_ln_b);
  if (c.n_batch >= 2) {
    declare_layer_norm(ps, "px.layer_norm_batch_embed", c.px.n_latent_sample, &m_px_ln_batch_w, &m_px_ln_batch_b);
    m_px_batch_embed = ps.add("px.batch_embedding.weight", Shape{c.n_batch, c.px.n_latent_sample}, Init::normal(0, 0.1));
    m_px_att.declare(ps, "px.attention_block", attention_spec(c.px, L, c.px_low_dim_batch ? L : G));
  }
  m_px_fc.declare(ps, "px.fc", L, G);
  m_px_r = ps.add("px.px_r", Shape{G}, Init::normal(0, 1));
  // priors
  if (c.learn_z_u_prior_scale)
    m_pz_scale = ps.add("pz_scale", Shape{L}, Init::zeros());
  else
    m_pz_scale = ps.add_buffer("pz_scale", Shape{L}, Init::constant(c.z_u_prior_scale));
  if (c.u_prior_mixture) {
    const int64_t K = c.n_mixture();
    m_logits = ps.add("u_prior_logits", Shape{K}, Init::zeros());
    m_means = ps.add("u_prior_means", Shape{K, Lu}, Init::normal(0, 1));
    m_log_scales = ps.add("u_prior_scales", Shape{K, Lu}, Init::zeros());
  }
  // Cells per sample in the training data (scale_observations); 1 until the data set them.
  m_n_obs = ps.add_buffer("n_obs_per_sample", Shape{S}, Init::constant(1));
}

void MrviModule::upload_constants(Backend& backend, const ParamStore& ps) {
  const MrviConfig& c = m_config;
  const int64_t K = c.n_labels, S = c.n_sample;
  auto cst = std::make_unique<Constants>();
  cst->backend = &backend;
  constexpr size_t kAlign = ParamStore::kAlignFloats;
  const size_t off_lab = kAlign, off_inv = off_lab + align_up(size_t(K * K), kAlign);
  std::vector<float> host(off_inv + size_t(S), 0.f);
  host[0] = float(kQuScaleEps);
  host[1] = float(kQepsScaleEps);
  host[2] = 0.f;
  host[3] = float(std::exp(c.u_prior_scale));
  host[4] = float(std::exp(2.0 * c.u_prior_scale));
  for (int64_t k = 0; k < K; ++k) host[off_lab + size_t(k * K + k)] = float(kLabelOffset);
  const std::vector<float> n_obs = ps.get(m_n_obs);
  for (int64_t s = 0; s < S; ++s) {
    CUVI_CHECK(n_obs[size_t(s)] > 0, "n_obs_per_sample must be positive (sample " + std::to_string(s) + ")");
    host[off_inv + size_t(s)] = float(1.0 / double(n_obs[size_t(s)]));
  }
  cst->buf = DeviceBuffer(backend, host.size() * sizeof(float));
  backend.upload(cst->buf.data(), host.data(), host.size() * sizeof(float));
  float* base = static_cast<float*>(cst->buf.data());
  const Device dev = backend.device();
  cst->qu_scale_eps = Tensor(base + 0, DType::F32, dev, Shape{1});
  cst->qeps_scale_eps = Tensor(base + 1, DType::F32, dev, Shape{1});
  cst->zero = Tensor(base + 2, DType::F32, dev, Shape{1});
  cst->u_prior_std = Tensor(base + 3, DType::F32, dev, Shape{1});
  cst->u_prior_var = Tensor(base + 4, DType::F32, dev, Shape{1});
  cst->label_offsets = Tensor(base + off_lab, DType::F32, dev, Shape{K, K});
  cst->inv_n_obs = Tensor(base + off_inv, DType::F32, dev, Shape{S, 1});
  m_const = std::move(cst);
}

MrviModule::QuOut MrviModule::encode_u(Graph& g, TensorId x, TensorId sample) const {
  CUVI_CHECK(m_const, "MRVI: upload_constants() was not called");
  TensorId f = g.apply("log1p", {x});
  f = g.apply("layernorm", {m_qu_fc1.forward(g, f), g.p(m_cn1_gamma), g.p(m_cn1_beta), sample},
              params_f({kMrviLnEps}));
  f = mrvi_act(g, f, MrviAct::Gelu);
  f = g.apply("layernorm", {m_qu_fc2.forward(g, f), g.p(m_cn2_gamma), g.p(m_cn2_beta), sample},
              params_f({kMrviLnEps}));
  f = mrvi_act(g, f, MrviAct::Gelu);
  f = g.apply("add", {f, g.apply("embedding", {g.p(m_qu_sample_embed), sample})});
  const NormalDistOutput::Out o = m_qu_out.forward(g, f, constant(g, m_const->qu_scale_eps));
  return {o.mean, o.scale};
}

MrviModule::QzOut MrviModule::encode_z(Graph& g, TensorId u, TensorId sample, bool use_mean) const {
  const MrviConfig& c = m_config;
  const TensorId u_stop = c.qz.stop_gradients ? g.tape.detach(u) : u;
  const TensorId u_ = mrvi_layer_norm(g, u_stop, m_qz_ln_w, m_qz_ln_b);
  const TensorId se = mrvi_layer_norm(g, g.apply("embedding", {g.p(m_qz_embed), sample}), m_qz_ln_embed_w,
                                      m_qz_ln_embed_b);
  const TensorId r = m_qz_att.forward(g, u_, se);
  QzOut o;
  o.z_base = c.has_z_base_layer() ? m_qz_fc.forward(g, u_stop) : u;
  if (c.qz_use_map) {
    o.eps = r;
    return o;
  }
  const int64_t L = c.n_latent;
  o.loc = g.apply("slice_cols", {r}, params_i({0, L}));
  o.scale = g.apply("add", {g.apply("softplus", {g.apply("slice_cols", {r}, params_i({L, L}))}),
                            constant(g, m_const->qeps_scale_eps)});
  o.eps = use_mean ? o.loc : g.apply("add", {o.loc, g.apply("mul", {normal_noise(g, "qeps", o.loc), o.scale})});
  return o;
}

TensorId MrviModule::z_base(Graph& g, TensorId u) const {
  const TensorId u_stop = m_config.qz.stop_gradients ? g.tape.detach(u) : u;
  return m_config.has_z_base_layer() ? m_qz_fc.forward(g, u_stop) : u;
}

MrviModule::PxOut MrviModule::decode(Graph& g, TensorId z, TensorId library, TensorId batch) const {
  const MrviConfig& c = m_config;
  const TensorId z_stop = c.px.stop_gradients ? g.tape.detach(z) : z;
  const TensorId z_ = mrvi_layer_norm(g, z_stop, m_px_ln_w, m_px_ln_b);
  TensorId logits;
  if (c.n_batch >= 2) {
    const TensorId be = mrvi_layer_norm(g, g.apply("embedding", {g.p(m_px_batch_embed), batch}), m_px_ln_batch_w,
                                        m_px_ln_batch_b);
    const TensorId r = m_px_att.forward(g, z_, be);
    logits = c.px_low_dim_batch ? m_px_fc.forward(g, g.apply("add", {z, r}))
                                : g.apply("add", {m_px_fc.forward(g, z), r});
  } else {
    logits = m_px_fc.forward(g, z_);  // one batch: the LayerNormed z (§9.7)
  }
  PxOut o;
  o.h = g.apply("softmax_rows", {logits});
  o.px_rate = library == kNoTensor ? kNoTensor : g.apply("mul", {o.h, g.apply("exp", {library})});
  return o;
}

TensorId MrviModule::label_logits(Graph& g, TensorId labels) const {
  return g.apply("add", {g.apply("embedding", {constant(g, m_const->label_offsets), labels}), g.p(m_logits)});
}

TensorId MrviModule::prior_log_prob(Graph& g, TensorId u, TensorId labels) const {
  const MrviConfig& c = m_config;
  if (!c.u_prior_mixture) {
    const TensorId zero = constant(g, m_const->zero);
    return g.apply("normal_log_prob", {u, zero, constant(g, m_const->u_prior_std)});
  }
  const TensorId logits = c.labels_guide_prior() && labels != kNoTensor ? label_logits(g, labels) : g.p(m_logits);
  return g.apply("mog_log_prob", {u, logits, g.p(m_means), g.p(m_log_scales)});
}

// scvi-tools' label broadcast (§3): entry (j, i) = log p_{label_j}(u_i); the loss averages over j.
TensorId MrviModule::parity_prior_log_prob(Graph& g, TensorId u, TensorId labels) const {
  const int64_t B = g.tape.value(u).dim(0);
  Constants& cst = *m_const;
  auto it = cst.pair_codes.find(B);
  if (it == cst.pair_codes.end()) {
    // Uploaded once per minibatch size, outside any captured step (the first step of a size runs eagerly).
    std::vector<int32_t> host(size_t(2 * B * B));
    for (int64_t j = 0; j < B; ++j)
      for (int64_t i = 0; i < B; ++i) {
        host[size_t(j * B + i)] = int32_t(i);
        host[size_t(B * B + j * B + i)] = int32_t(j);
      }
    DeviceBuffer buf(*cst.backend, host.size() * sizeof(int32_t));
    cst.backend->upload(buf.data(), host.data(), host.size() * sizeof(int32_t));
    it = cst.pair_codes.emplace(B, std::move(buf)).first;
  }
  const Device dev = cst.backend->device();
  int32_t* codes = static_cast<int32_t*>(it->second.data());
  const TensorId cell = g.tape.input(Tensor(codes, DType::I32, dev, Shape{B * B}));
  const TensorId row = g.tape.input(Tensor(codes + B * B, DType::I32, dev, Shape{B * B}));
  const TensorId u_pairs = g.apply("embedding", {u, cell});
  const TensorId logit_pairs = g.apply("embedding", {label_logits(g, labels), row});
  const TensorId lp = g.apply("mog_log_prob", {u_pairs, logit_pairs, g.p(m_means), g.p(m_log_scales)});
  const TensorId per_cell = g.apply("sum_cols", {g.tape.reshape(lp, Shape{B, B})});
  return g.apply("scale", {per_cell}, scale_by(1.0 / double(B)));
}

TensorId MrviModule::kl_u(Graph& g, const MrviOutputs& o, TensorId labels) const {
  const MrviConfig& c = m_config;
  if (!c.u_prior_mixture) {
    // Analytic KL(N(mu, sigma) || N(0, exp(u_prior_scale))) summed over dimensions.
    const TensorId var = g.apply("mul", {o.qu_scale, g.apply("scale", {o.qu_scale}, scale_by(1.0))});
    return g.apply("kl_normal", {o.qu_mean, var, kNoTensor, constant(g, m_const->u_prior_var)});
  }
  // Single-sample estimate: sum_d log q(u_d | x) - log p(u).
  const TensorId log_q = g.apply("normal_log_prob", {o.u, o.qu_mean, o.qu_scale});
  const bool parity = c.labels_guide_prior() && c.label_prior == "parity";
  const TensorId log_p = parity ? parity_prior_log_prob(g, o.u, labels) : prior_log_prob(g, o.u, labels);
  return g.apply("sub", {log_q, log_p});
}

MrviOutputs MrviModule::forward(Graph& g, const MrviInputs& in, const MrviForwardOptions& opt) const {
  const MrviConfig& c = m_config;
  const int64_t N = g.tape.value(in.x).dim(0);
  MrviOutputs o;
  const QuOut qu = encode_u(g, in.x, in.sample);
  o.qu_mean = qu.mean;
  o.qu_scale = qu.scale;
  o.u = opt.use_mean ? qu.mean
                     : g.apply("add", {qu.mean, g.apply("mul", {normal_noise(g, "qu", qu.mean), qu.scale})});
  const QzOut qz = encode_z(g, o.u, in.cf_sample != kNoTensor ? in.cf_sample : in.sample, opt.use_mean);
  o.z_base = qz.z_base;
  o.eps = qz.eps;
  o.qeps_loc = qz.loc;
  o.qeps_scale = qz.scale;
  o.z = g.apply("add", {qz.z_base, qz.eps});
  o.library = g.tape.reshape(g.apply("log", {g.apply("sum_rows", {in.x})}), Shape{N, 1});
  const PxOut px = decode(g, o.z, o.library, in.batch);
  o.h = px.h;
  o.px_rate = px.px_rate;
  o.theta = g.apply("exp", {g.p(m_px_r)});
  if (!opt.compute_loss) return o;

  o.log_lik = g.apply("nb_log_prob", {in.x, o.px_rate, o.theta}, params_f({kNbEps}));
  o.kl_u = kl_u(g, o, in.labels);
  o.kl_local = o.kl_u;
  if (c.z_u_prior) {
    const TensorId p_eps = g.apply("normal_log_prob", {o.eps, constant(g, m_const->zero), g.apply("exp", {g.p(m_pz_scale)})});
    if (opt.want_kl_z) o.kl_z = g.apply("scale", {p_eps}, scale_by(-1.0));
    o.kl_local = g.apply("sub", {o.kl_u, p_eps});  // kl_u + kl_z, exactly
  }
  if (!c.scale_observations) {
    // mean(-log_lik + kl_weight kl_local) and -log_lik, one op (kl_local is warmed as a whole: the KL_z slot).
    ElboTerms t;
    t.log_lik = o.log_lik;
    t.kl_z = o.kl_local;
    const Elbo elbo = elbo_mean(g, t);
    o.loss = elbo.loss;
    o.reconstruction_loss = elbo.reconstruction_loss;
    return o;
  }
  OpParams warm = scale_by(1.0);
  warm.i[0] = 1;  // times the device kl_weight
  TensorId per_cell = g.apply("sub", {g.apply("scale", {o.kl_local}, warm), o.log_lik});
  const TensorId inv = g.apply("embedding", {constant(g, m_const->inv_n_obs), in.sample});
  per_cell = g.apply("mul", {per_cell, g.tape.reshape(inv, Shape{N})});
  o.loss = g.apply("mean_all", {per_cell});
  o.reconstruction_loss = g.apply("scale", {o.log_lik}, scale_by(-1.0));
  return o;
}

}  // namespace cuvi::models
