// The MULTIVI module (scvi-tools' MULTIVAE, scvi-multivi.md §2.2-§2.4): per-modality encoders on raw
// counts, the expression library encoder, the cell-specific accessibility factor d, region factors,
// the joint posterior mixed from the present modalities, the SCVI and PeakVI decoders and the loss
// (masked reconstructions, KL of the joint posterior, the pair penalty).
#pragma once
#include "models/layers/decoder_peakvi.h"
#include "models/layers/decoder_scvi.h"
#include "models/layers/encoder.h"
#include "models/multivi/multivi_config.h"

namespace cuvi::models {

struct MultiviInputs {
  TensorId x = kNoTensor;          // (N, G + R) raw counts: genes, then regions
  TensorId enc_codes = kNoTensor;  // (N, J) one-hot column offsets of [batch] + categorical covariates
  TensorId dec_codes = kNoTensor;  // same, with the batch replaced for transform_batch
  TensorId cont = kNoTensor;       // (N, C) continuous covariates
  TensorId cell = kNoTensor;       // (N) i32 training-cell index (per-cell modality weights)
};

struct MultiviOutputs {
  TensorId x_rna = kNoTensor, x_atac = kNoTensor;        // (N, G), (N, R)
  TensorId mask_expr = kNoTensor, mask_acc = kNoTensor;  // (N) 1 where the modality has counts
  TensorId qzm_expr = kNoTensor, qzv_expr = kNoTensor;   // (N, L)
  TensorId qzm_acc = kNoTensor, qzv_acc = kNoTensor;     // (N, L)
  TensorId qz_m = kNoTensor, qz_v = kNoTensor;           // (N, L) joint posterior
  TensorId z = kNoTensor;                                // (N, L) sample (softmax-transformed for ln)
  TensorId libsize_expr = kNoTensor;                     // (N, 1) log library of the expression decoder
  TensorId libsize_acc = kNoTensor;                      // (N, 1) cell-specific factor d in (0, 1)
  TensorId p_logits = kNoTensor;                         // (N, R) accessibility decoder before its sigmoid
  TensorId p = kNoTensor;                                // (N, R) accessibility probabilities (want_p)
  TensorId px_scale = kNoTensor, px_rate = kNoTensor, px_dropout = kNoTensor;  // (N, G)
  TensorId theta = kNoTensor;                            // (G)
  TensorId rec_expr = kNoTensor, rec_acc = kNoTensor;    // (N) masked reconstruction losses (want_rec_parts)
  TensorId kl_z = kNoTensor;                             // (N) KL of the joint posterior, unweighted
  TensorId kl_paired = kNoTensor;                        // (N) modality pair penalty (0 rows: none)
  TensorId loss = kNoTensor;                             // (1) mean(rec + kl_weight * kl_z + penalty)
  TensorId reconstruction_loss = kNoTensor;              // (N) rec_expr + rec_acc
  TensorId kl_local = kNoTensor;                         // (N) kl_z + kl_paired, unweighted
};

struct MultiviForwardOptions {
  bool compute_loss = true;
  bool decode = true;        // run the decoders (not needed for latents)
  bool z_from_mean = false;  // decode from qz_m (scvi-tools' use_z_mean) instead of a sample
  bool want_p = true;        // materialise p = sigmoid(logits) (the loss works from the logits)
  bool want_rec_parts = true;  // rec_expr and rec_acc apart (the training step needs only their sum)
};

class MultiviModule {
 public:
  explicit MultiviModule(const MultiviConfig& config);  // config must be resolved
  void declare(ParamStore& ps);
  MultiviOutputs forward(Graph& g, const MultiviInputs& in, const MultiviForwardOptions& opt = {}) const;

  const MultiviConfig& config() const { return m_config; }
  const CovariateLayout& layout() const { return m_layout; }
  int region_factors() const { return m_region_factors; }  // (R) raw, used as sigmoid; -1 when off

 private:
  TensorId modality_weights(Graph& g, const MultiviInputs& in, TensorId masks) const;
  TensorId pair_penalty(Graph& g, const MultiviOutputs& o) const;
  MultiviConfig m_config;
  CovariateLayout m_layout;
  Encoder m_z_expr, m_z_acc;
  DecoderPeakVi m_l_expr, m_l_acc, m_decoder_acc;
  DecoderScvi m_decoder_expr;
  int m_px_r = -1, m_region_factors = -1, m_mod_weights = -1;
};

}  // namespace cuvi::models
