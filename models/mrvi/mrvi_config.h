// MRVI configuration with scvi-tools' defaults (spec/mrvi.md §2-4): sizes, prior and attention options,
// the label-prior mode (§3, §9.1), validation and serialisation to the model file's string map.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace cuvi::models {

// Options of one attention-based network (qz = EncoderUZ, px = DecoderZXAttention; §2).
struct MrviAttentionOptions {
  int64_t n_hidden = 32;        // width of the attention block's MLPs
  int n_layers = 1;             // ResNet blocks per MLP
  int64_t n_latent_sample = 16; // E: embedding width and token count T
  int64_t n_channels = 4;
  int64_t n_heads = 2;
  double dropout_rate = 0.03;
  bool stop_gradients = false;
  bool stop_gradients_mlp = true;
};

struct MrviConfig {
  int64_t n_genes = 0;
  int64_t n_sample = 0;
  int64_t n_batch = 1;
  int64_t n_labels = 1;
  int64_t n_latent = 30;    // z
  int64_t n_latent_u = 10;  // u
  int64_t encoder_n_hidden = 128;
  int encoder_n_layers = 2;
  bool z_u_prior = true;
  double z_u_prior_scale = 0.0;  // log std of p(eps)
  double u_prior_scale = 0.0;    // log std of the normal p(u) (ignored by the mixture, as in scvi-tools)
  bool u_prior_mixture = true;
  int64_t u_prior_mixture_k = 20;  // replaced by n_labels when labels are registered (n_labels > 1)
  bool learn_z_u_prior_scale = false;
  bool scale_observations = false;
  // Label-guided prior (n_labels > 1): "per-cell" scores each cell under its own label's mixture
  // weights; "parity" reproduces scvi-tools' (B, 1) label broadcast, each cell scored against every
  // label of its minibatch (§3).
  std::string label_prior = "per-cell";
  MrviAttentionOptions qz;  // use_map applies to qz only
  bool qz_use_map = true;
  MrviAttentionOptions px;
  bool px_low_dim_batch = true;

  MrviConfig();  // px/qz defaults (dropout 0.03, stop_gradients_mlp true, n_hidden 32)
  int64_t n_mixture() const { return n_labels > 1 ? n_labels : u_prior_mixture_k; }
  bool labels_guide_prior() const { return u_prior_mixture && n_labels >= 2; }
  bool has_z_base_layer() const { return n_latent != n_latent_u; }
  void validate() const;  // fail() naming the offending option
  std::map<std::string, std::string> to_map() const;
  static MrviConfig from_map(const std::map<std::string, std::string>& m);
  std::string describe() const;
};

}  // namespace cuvi::models
