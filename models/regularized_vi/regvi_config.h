// RegularizedVI configuration (regularizedvi.md §1-4, §7): AmbientRegularizedSCVI is one modality with the
// single-modal rules, RegularizedMultimodalVI is M modalities (alphabetical order) sharing one latent space.
// Defaults are the model classes' (§3); parameter names follow regularizedvi's state_dict.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cuvi::models {

struct RegviModality {
  std::string name;             // "" for the single-modal model; "rna", "atac", ... otherwise
  int64_t n_features = 0;
  int64_t n_hidden = 128, n_latent = 10;
  int n_layers = 1;
  std::string dispersion = "gene-batch";  // gene | gene-batch (multimodal also region | region-batch)
  bool additive_background = true;        // needs ambient categories
  bool feature_scaling = true;
  double dispersion_hyper_prior_mean = 1.0 / 3.0, dispersion_hyper_prior_alpha = 9.0;
  std::string dispersion_prior_direction = "inverse_sqrt";  // inverse_sqrt | sqrt
  double library_log_vars_weight = 0.5;   // <= 0: unscaled (a modality missing from a multimodal dict)
  double centering_sensitivity = 0;       // 0: None (log sens = 0)
  double decoder_bias_multiplier = 1.0;   // decoder-bias target v -> softplus^-1(m softplus(v)) (§12.8)

  bool per_group_dispersion() const { return dispersion == "gene-batch" || dispersion == "region-batch"; }
};

struct RegviConfig {
  bool multimodal = false;                // RegularizedMultimodalVI (parameter names "encoders.<m>....")
  std::vector<RegviModality> modalities;  // one for AmbientRegularizedSCVI; alphabetical for multimodal
  std::string latent_mode = "concatenation";  // concatenation | weighted_mean | single_encoder (multimodal)
  std::string modality_weights = "equal";     // weighted_mean: equal | universal | cell
  // MultimodalTrainingPlan's modality_lr_multiplier: each listed modality's parameters (encoders, library
  // encoders, decoders, px_r_mu/log_sigma, prior rate, background, scaling) train at lr * multiplier.
  std::map<std::string, double> modality_lr_multiplier;
  // Category counts per key of each purpose (§2); a key with 1 category adds no FC one-hot column.
  std::vector<int64_t> n_cats_nn;         // nn_conditioning_covariate_keys: decoder one-hots
  std::vector<int64_t> n_cats_encoder;    // encoder_covariate_keys: z and library encoder one-hots
  std::vector<int64_t> n_cats_ambient;    // ambient_covariate_keys: background columns (all categories)
  std::vector<int64_t> n_cats_scaling;    // feature_scaling_covariate_keys: scaling rows (all categories)
  int64_t n_dispersion_cats = 1, n_library_cats = 1;
  int64_t n_continuous_cov = 0;
  bool use_size_factor = false;           // single-modal size_factor_key: l = log(size_factor), no library prior

  double dropout_rate = 0.1;
  int64_t library_n_hidden = 16;
  std::string use_batch_norm = "none", use_layer_norm = "both";
  bool deeply_inject_covariates = true;
  bool residual_library_encoder = true;
  double library_obs_w_prior_rate = 1.0;
  bool regularise_dispersion = true;
  bool regularise_background = false;
  double additive_bg_prior_alpha = 1.0, additive_bg_prior_beta = 100.0;
  double feature_scaling_prior_alpha = 200.0, feature_scaling_prior_beta = 200.0;
  double decoder_weight_l2 = 0.1, decoder_cov_weight_l2 = 0.0;
  double var_eps = 1e-4;

  // Data-driven initialisation (§4, §8).
  std::string init_decoder_bias = "mean";  // mean | topN | none
  double bg_init_gene_fraction = 0.2;      // <= 0: None (prior mean log(alpha/beta))
  double additive_bg_init_std = 0.01;
  std::string dispersion_init = "prior";   // prior | data
  double dispersion_init_bio_frac = 0.9, dispersion_init_theta_min = 0.01, dispersion_init_theta_max = 20.0;
  double px_r_init_std = 0;                // 0: None (0.1 with an init mean, else N(0,1) draws)

  static RegviConfig single_modal(int64_t n_genes);
  void validate() const;  // fail() naming the offending option
  std::map<std::string, std::string> to_map() const;
  static RegviConfig from_map(const std::map<std::string, std::string>& m);
  std::string describe() const;

  int64_t total_latent() const;
  int64_t total_features() const;
  bool bn_encoder() const { return use_batch_norm == "encoder" || use_batch_norm == "both"; }
  bool bn_decoder() const { return use_batch_norm == "decoder" || use_batch_norm == "both"; }
  bool ln_encoder() const { return use_layer_norm == "encoder" || use_layer_norm == "both"; }
  bool ln_decoder() const { return use_layer_norm == "decoder" || use_layer_norm == "both"; }
  bool learned_library() const { return !use_size_factor; }
  int64_t total_ambient() const;
  int64_t total_scaling() const;
};

// One-hot width of FC inputs for a list of category counts: keys with <= 1 category add nothing.
int64_t fc_onehot_width(const std::vector<int64_t>& n_cats);

// State-dict names of one modality's parameters: single-modal "z_encoder", "px_r_mu", "library_log_means";
// multimodal "encoders.rna", "px_r_mu.rna", "library_log_means_rna".
struct RegviNames {
  std::string z_encoder, l_encoder, decoder;
  std::string px_r_mu, px_r_log_sigma, rate_raw, background, scaling, w_mu, w_log_sigma;
  std::string lib_means, lib_vars, lib_global_mean, lib_log_sens;
  static RegviNames of(const RegviConfig& c, const RegviModality& m);
};

}  // namespace cuvi::models
