// DecoderSCVI (scvi-multivi.md §1.3 step 5): FCLayers (no dropout) -> px_scale = softmax(Linear),
// px_r head (gene-cell dispersion) and px_dropout head (zero-inflation logits); and the LinearSCVI
// decoder (§1.8): Linear (no bias) -> BatchNorm, no activation, for px_scale and px_dropout.
#pragma once
#include "models/layers/fc_layers.h"

namespace cuvi::models {

struct DecoderOut {
  TensorId px_logits = kNoTensor;   // (N, G) logits of px_scale
  TensorId px_scale = kNoTensor;    // (N, G) softmax over genes (unless the caller fuses it into the loss)
  TensorId px_r = kNoTensor;        // (N, G) raw log-dispersion from the decoder (gene-cell only)
  TensorId px_dropout = kNoTensor;  // (N, G) zero-inflation logits
  // Without px_scale (want_scale false) the heads' biases are left to the likelihood tail (px_log_prob adds them
  // on the fly): px_logits and px_dropout are then bias-free and these name the (G) bias parameters.
  TensorId px_logits_bias = kNoTensor, px_dropout_bias = kNoTensor;
};

class DecoderScvi {
 public:
  // n_input: latent (+ continuous covariates); fc.n_out = hidden width.
  void declare(ParamStore& ps, const std::string& prefix, const FCLayersSpec& fc, int64_t n_genes);
  DecoderOut forward(Graph& g, TensorId z, TensorId codes, bool want_dropout, bool want_r,
                     bool want_scale = true) const;

 private:
  FCLayers m_fc;
  int m_scale_w = -1, m_scale_b = -1, m_r_w = -1, m_r_b = -1, m_drop_w = -1, m_drop_b = -1;
};

class LinearDecoderScvi {
 public:
  void declare(ParamStore& ps, const std::string& prefix, const FCLayersSpec& fc);
  DecoderOut forward(Graph& g, TensorId z, TensorId codes, bool want_dropout, bool want_scale = true) const;
  const FCLayers& factor_regressor() const { return m_factor; }

 private:
  FCLayers m_factor, m_dropout;
};

}  // namespace cuvi::models
