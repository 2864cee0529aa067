// The MRVI module (scvi-tools MRVAE, spec/mrvi.md §2-3): EncoderXU q(u|x,s), EncoderUZ (z = z_base(u) +
// eps(u, s)), DecoderZXAttention p(x|z,b), the mixture-of-Gaussians prior on u and the loss, recorded
// on the tape under scvi-tools' parameter names.
#pragma once
#include <map>
#include <memory>

#include "models/layers/attention_block.h"
#include "models/mrvi/mrvi_config.h"

namespace cuvi::models {

struct MrviInputs {
  TensorId x = kNoTensor;          // (N, G) raw counts
  TensorId sample = kNoTensor;     // (N) i32 sample seen by qu (always the cell's own)
  TensorId cf_sample = kNoTensor;  // (N) i32 sample seen by qz (counterfactuals); kNoTensor: `sample`
  TensorId batch = kNoTensor;      // (N) i32 batch seen by px (transform_batch replaces it)
  TensorId labels = kNoTensor;     // (N) i32, guides the prior when labels are registered
};

struct MrviForwardOptions {
  bool use_mean = false;  // u = qu mean and eps = qeps loc (no noise drawn)
  bool compute_loss = true;
  bool want_kl_z = true;  // kl_z apart (the training step needs only kl_local = kl_u - log p(eps))
};

struct MrviOutputs {
  TensorId qu_mean = kNoTensor, qu_scale = kNoTensor;  // (N, Lu)
  TensorId u = kNoTensor;                              // (N, Lu)
  TensorId z_base = kNoTensor, eps = kNoTensor;        // (N, L)
  TensorId qeps_loc = kNoTensor, qeps_scale = kNoTensor;  // (N, L), use_map off only
  TensorId z = kNoTensor;                              // (N, L)
  TensorId library = kNoTensor;                        // (N, 1) log of the observed total
  TensorId h = kNoTensor;                              // (N, G) softmax of the decoder
  TensorId px_rate = kNoTensor;                        // (N, G) NB mean h * exp(library)
  TensorId theta = kNoTensor;                          // (G) exp(px_r)
  TensorId log_lik = kNoTensor;                        // (N) log p(x | z, b)
  TensorId kl_u = kNoTensor, kl_z = kNoTensor;         // (N) unweighted (kl_z absent without z_u_prior)
  TensorId kl_local = kNoTensor;                       // (N) kl_u + kl_z
  TensorId loss = kNoTensor;                           // (1)
  TensorId reconstruction_loss = kNoTensor;            // (N) -log p(x | z, b)
};

class MrviModule {
 public:
  explicit MrviModule(const MrviConfig& config);
  ~MrviModule();
  void declare(ParamStore& ps);
  // Device constants (eps terms, label offsets, 1/cells per sample from the "n_obs_per_sample" buffer).
  // Call after the parameters are allocated and whenever that buffer changes.
  void upload_constants(Backend& backend, const ParamStore& ps);

  MrviOutputs forward(Graph& g, const MrviInputs& in, const MrviForwardOptions& opt = {}) const;

  // The pieces, for the analyses.
  struct QuOut {
    TensorId mean, scale;  // (N, Lu)
  };
  QuOut encode_u(Graph& g, TensorId x, TensorId sample) const;
  struct QzOut {
    TensorId z_base, eps, loc = kNoTensor, scale = kNoTensor;  // (N, L)
  };
  // eps is qz's MAP output (use_map) or a draw from q(eps|u, s) (its loc when use_mean).
  QzOut encode_z(Graph& g, TensorId u, TensorId sample, bool use_mean) const;
  // z_base(u): qz's projection of u (u itself when n_latent_u == n_latent).
  TensorId z_base(Graph& g, TensorId u) const;
  struct PxOut {
    TensorId h, px_rate;  // (N, G)
  };
  PxOut decode(Graph& g, TensorId z, TensorId library, TensorId batch) const;  // library may be kNoTensor
  // log p(u) under the prior (N): per-cell label guidance when labels is given (mixture only).
  TensorId prior_log_prob(Graph& g, TensorId u, TensorId labels) const;

  const MrviConfig& config() const { return m_config; }
  int n_obs_per_sample_buffer() const { return m_n_obs; }
  int prior_logits() const { return m_logits; }
  int prior_means() const { return m_means; }
  int prior_log_scales() const { return m_log_scales; }

 private:
  struct Constants;
  TensorId constant(Graph& g, const Tensor& t) const { return g.tape.input(t); }
  TensorId kl_u(Graph& g, const MrviOutputs& o, TensorId labels) const;
  TensorId parity_prior_log_prob(Graph& g, TensorId u, TensorId labels) const;
  TensorId label_logits(Graph& g, TensorId labels) const;  // (N, K) logits + 10 onehot(label)

  MrviConfig m_config;
  // qu
  Dense m_qu_fc1, m_qu_fc2;
  int m_cn1_gamma = -1, m_cn1_beta = -1, m_cn2_gamma = -1, m_cn2_beta = -1, m_qu_sample_embed = -1;
  NormalDistOutput m_qu_out;
  // qz
  int m_qz_ln_w = -1, m_qz_ln_b = -1, m_qz_embed = -1, m_qz_ln_embed_w = -1, m_qz_ln_embed_b = -1;
  AttentionBlock m_qz_att;
  Dense m_qz_fc;
  // px
  int m_px_ln_w = -1, m_px_ln_b = -1, m_px_ln_batch_w = -1, m_px_ln_batch_b = -1, m_px_batch_embed = -1;
  AttentionBlock m_px_att;
  Dense m_px_fc;
  int m_px_r = -1;
  // priors and buffers
  int m_pz_scale = -1, m_logits = -1, m_means = -1, m_log_scales = -1, m_n_obs = -1;
  std::unique_ptr<Constants> m_const;
};

}  // namespace cuvi::models
