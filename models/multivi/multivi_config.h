// MULTIVI configuration with scvi-tools 1.5.1's defaults (scvi-multivi.md §2.1, §2.5): sizes resolved
// from the data (n_hidden = min(128, int(sqrt(R))), n_latent = int(sqrt(n_hidden))), modality weights
// and penalty, and the adversarial batch classifier of the training plan.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/scvi/scvi_config.h"

namespace cuvi::models {

struct MultiviConfig {
  int64_t n_genes = 0, n_regions = 0;
  int64_t n_batch = 1;
  std::vector<int64_t> n_cats_per_cov;  // extra categorical covariates
  int64_t n_continuous_cov = 0;
  int64_t n_obs = 0;     // training cells: rows of the per-cell modality weights ("cell")
  int64_t n_hidden = 0;  // 0: min(128, int(sqrt(n_regions))) (genes when there are no regions)
  int64_t n_latent = 0;  // 0: int(sqrt(n_hidden))
  int n_layers_encoder = 2, n_layers_decoder = 2;
  double dropout_rate = 0.1;  // encoders only
  bool region_factors = true;
  std::string gene_likelihood = "zinb";        // zinb | nb | poisson
  std::string dispersion = "gene";             // only "gene" works in scvi-tools' MULTIVAE loss
  std::string use_batch_norm = "none";         // none | encoder | decoder | both
  std::string use_layer_norm = "both";         // none | encoder | decoder | both
  std::string latent_distribution = "normal";  // normal | ln
  bool deeply_inject_covariates = false, encode_covariates = false;
  std::string modality_weights = "equal";      // equal | universal | cell
  std::string modality_penalty = "Jeffreys";   // Jeffreys | MMD | None
  // AdversarialTrainingPlan: a batch classifier on z (only with more than one batch), its losses
  // scaled by scale_adversarial_loss (MULTIVI passes 1).
  bool adversarial_mixing = true;
  double scale_adversarial_loss = 1.0;

  // Fills n_hidden and n_latent when 0 (scvi-tools' rules), then validates.
  void resolve();
  void validate() const;  // fail() with the offending option
  bool adversarial_classifier() const { return adversarial_mixing && n_batch > 1; }
  bool bn_encoder() const { return use_batch_norm == "encoder" || use_batch_norm == "both"; }
  bool bn_decoder() const { return use_batch_norm == "decoder" || use_batch_norm == "both"; }
  bool ln_encoder() const { return use_layer_norm == "encoder" || use_layer_norm == "both"; }
  bool ln_decoder() const { return use_layer_norm == "decoder" || use_layer_norm == "both"; }
  CovariateLayout layout() const;  // [batch] + categorical covariates

  std::map<std::string, std::string> to_map() const;
  static MultiviConfig from_map(const std::map<std::string, std::string>& m);
  std::string describe() const;  // multi-line human-readable summary
};

}  // namespace cuvi::models
