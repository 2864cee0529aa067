// The SCVI module (scvi VAE / LDVAE, scvi-multivi.md §1.3–1.5): parameters with scvi-tools' names,
// a forward pass recorded on the tape, and the ELBO loss with KL warm-up read on the device.
#pragma once
#include <vector>

#include "models/layers/decoder_scvi.h"
#include "models/layers/encoder.h"
#include "models/scvi/scvi_config.h"

namespace cuvi::models {

struct ScviInputs {
  TensorId x = kNoTensor;          // (N, G) raw counts
  TensorId x_log1p = kNoTensor;    // (N, G) log1p(x) when the loader computed it (else recorded here)
  TensorId log_library = kNoTensor;  // (N, 1) log total counts when the loader computed them
  TensorId enc_codes = kNoTensor;  // (N, J) one-hot column offsets of [batch] + categorical covariates
  TensorId dec_codes = kNoTensor;  // same, with the batch replaced for transform_batch
  TensorId batch = kNoTensor;      // (N, 1) i32 observed batch (library prior)
  TensorId dec_batch = kNoTensor;  // (N, 1) i32 batch seen by the decoder (gene-batch dispersion)
  TensorId labels = kNoTensor;     // (N, 1) i32 (gene-label dispersion)
  TensorId cont = kNoTensor;       // (N, C) continuous covariates
};

struct ScviOutputs {
  TensorId qz_m = kNoTensor, qz_v = kNoTensor;  // (N, L)
  TensorId z = kNoTensor;                       // (N, L) sample (softmax-transformed for ln)
  TensorId ql_m = kNoTensor, ql_v = kNoTensor;  // (N, 1) learned library only
  TensorId library = kNoTensor;                 // (N, 1) log library used by the decoder
  TensorId px_scale = kNoTensor, px_rate = kNoTensor, px_dropout = kNoTensor;  // (N, G)
  TensorId theta = kNoTensor;                   // (G) or (N, G)
  TensorId log_lik = kNoTensor;                 // (N) log p(x | z, l)
  TensorId kl_z = kNoTensor, kl_l = kNoTensor;  // (N) unweighted
  TensorId loss = kNoTensor;                    // (1) mean(rec + kl_weight * kl_z + kl_l)
  TensorId reconstruction_loss = kNoTensor;     // (N) -log p(x | z, l)
  TensorId kl_local = kNoTensor;                // (N) kl_z + kl_l, unweighted
};

struct ScviForwardOptions {
  bool compute_loss = true;
  bool z_from_mean = false;  // decode from qz_m instead of a sample (no noise drawn)
  bool want_px = false;      // with the loss: also record px_scale, px_rate and theta (parity tests)
};

class ScviModule {
 public:
  explicit ScviModule(const ScviConfig& config);
  void declare(ParamStore& ps);
  ScviOutputs forward(Graph& g, const ScviInputs& in, const ScviForwardOptions& opt = {}) const;

  const ScviConfig& config() const { return m_config; }
  const CovariateLayout& layout() const { return m_layout; }
  int library_log_means() const { return m_lib_means; }  // buffers (1, B), learned library only
  int library_log_vars() const { return m_lib_vars; }
  // LinearSCVI gene loadings (G, L): diag(gamma / sqrt(running_var + eps)) @ W[:, :L] (§1.8).
  std::vector<float> loadings(const ParamStore& ps) const;

 private:
  TensorId log_theta(Graph& g, const ScviInputs& in, const DecoderOut& d) const;
  ScviConfig m_config;
  CovariateLayout m_layout;
  Encoder m_z_encoder, m_l_encoder;
  DecoderScvi m_decoder;
  LinearDecoderScvi m_linear_decoder;
  int m_px_r = -1, m_lib_means = -1, m_lib_vars = -1;
};

}  // namespace cuvi::models
