// RegularizedVAE / RegularizedMultimodalVAE (regularizedvi.md §4-7): per-modality encoders, library
// encoders with the residual observed term, softplus decoders that see the full z, ambient background,
// feature scaling, per-cell sampled GammaPoisson dispersion, and the loss with global terms divided by N.
#pragma once
#include <string>
#include <vector>

#include "models/layers/encoder.h"
#include "models/regularized_vi/regvi_config.h"

namespace cuvi::models {

// One minibatch as the module sees it. Code tensors are i32 one-hot column offsets (linear's codes):
// keys with <= 1 category are left out of the FC codes but kept in the ambient and scaling codes.
struct RegviInputs {
  std::vector<TensorId> x;                 // per modality (N, F_m) raw counts
  TensorId cont = kNoTensor;               // (N, C) continuous covariates
  TensorId nn_codes = kNoTensor;           // (N, J_nn) decoder one-hots
  TensorId enc_codes = kNoTensor;          // (N, J_enc) encoder one-hots
  TensorId ambient_codes = kNoTensor;      // (N, n_ambient_keys) offsets into the concatenated categories;
                                           // none: no background term
  std::vector<TensorId> scaling_codes;     // per scaling key (N) offsets into the concatenated rows; none: factor 1
  TensorId disp_code = kNoTensor;          // (N, 1) dispersion group
  TensorId lib_code = kNoTensor;           // (N, 1) library-size group
  TensorId log_size_factor = kNoTensor;    // (N, 1) log(size_factor), single-modal size_factor_key only
};

struct RegviModalityOut {
  TensorId qz_m = kNoTensor, qz_v = kNoTensor, z = kNoTensor;  // (N, K_m)
  TensorId ql_m = kNoTensor, ql_v = kNoTensor;                 // (N, 1) q(l) with the residual term
  TensorId library = kNoTensor;                                // (N, 1) log library used by the decoder
  TensorId px_scale = kNoTensor, px_rate = kNoTensor;          // (N, F_m) softplus output, NB mean
  TensorId theta = kNoTensor;                                  // (N, F_m) or (F_m)
  TensorId log_lik = kNoTensor;                                // (N)
  TensorId kl_z = kNoTensor, kl_l = kNoTensor;                 // (N) unweighted, unmasked
  TensorId mask = kNoTensor;                                   // (N) 1 when the cell has the modality (multimodal)
  TensorId kl_w = kNoTensor;                                   // (1) KL of the residual weight w
  TensorId dispersion_kl = kNoTensor, hyper_prior = kNoTensor; // (1) without their constants
  TensorId scaling_penalty = kNoTensor, background_penalty = kNoTensor;  // (1) without constants
  TensorId l2 = kNoTensor;                                     // (1) decoder_weight_l2 * sum W^2
};

struct RegviOutputs {
  std::vector<RegviModalityOut> m;
  TensorId z = kNoTensor;          // (N, sum K) decoder input latent ((N, K) for weighted_mean)
  TensorId qz_m = kNoTensor, qz_v = kNoTensor;  // single_encoder: the joint posterior (N, sum K)
  TensorId weights = kNoTensor;    // weighted_mean: (N, M) mixing weights
  TensorId recon = kNoTensor;      // (N) sum_m mask * -log p(x_m | ...)
  TensorId kl_z = kNoTensor;       // (N) sum_m mask * KL_z,m
  TensorId kl_l = kNoTensor;       // (N) sum_m mask * KL_l,m
  TensorId kl_local = kNoTensor;   // (N) kl_z + kl_l
  TensorId global = kNoTensor;     // (1) sum of the global terms (without constants), not yet / N
  TensorId loss = kNoTensor;       // (1)
};

struct RegviForwardOptions {
  bool compute_loss = true;
  bool z_from_mean = false;  // decode from qz_m (no noise for z)
};

class RegviModule {
 public:
  explicit RegviModule(const RegviConfig& config);
  void declare(ParamStore& ps);
  // consts: (1) tensor holding global_constant(n_obs) / n_obs (the loss's parameter-free part of the
  // global terms); inv_n_obs = 1 / N with N the full training-set size.
  RegviOutputs forward(Graph& g, const RegviInputs& in, TensorId global_const, double inv_n_obs,
                       const RegviForwardOptions& opt = {}) const;
  // The parameter-free part of the global terms (normal entropies, Gamma normalisers, log r).
  double global_constant() const;

  const RegviConfig& config() const { return m_config; }
  struct ModalityParams {
    RegviNames names;
    Encoder z_encoder, l_encoder;
    FCLayers px_decoder;
    int scale_w = -1, scale_b = -1, r_w = -1, r_b = -1, drop_w = -1, drop_b = -1;  // heads (G, H), (G)
    int px_r_mu = -1, px_r_log_sigma = -1, rate_raw = -1;
    int background = -1, scaling = -1;
    int w_mu = -1, w_log_sigma = -1;
    int lib_means = -1, lib_vars = -1, lib_global_mean = -1, lib_log_sens = -1;  // buffers
  };
  const std::vector<ModalityParams>& modality_params() const { return m_mod; }
  // Noise sites: "qz", "ql", "w", "px_r", "px_r_prior" (+ ".<modality>" in the multimodal model).
  std::string site(size_t m, const std::string& what) const;
  const Encoder& joint_encoder() const { return m_joint; }

 private:
  RegviConfig m_config;
  std::vector<ModalityParams> m_mod;
  Encoder m_joint;                       // single_encoder
  int m_mix_params = -1;                 // weighted_mean universal: modality_weight_params (M)
  int m_mix_w = -1, m_mix_b = -1;        // weighted_mean cell: modality_weight_net (M, M K), (M)
};

// softplus^-1(v) as regularizedvi computes it: v itself above 20.
double softplus_inverse(double v);

}  // namespace cuvi::models
