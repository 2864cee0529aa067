// SCVI / LinearSCVI configuration with scvi-tools' defaults (scvi-multivi.md §1.1, §1.8) and the
// one-hot covariate layout [batch] + categorical covariates shared by encoder and decoder (§1.2).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cuvi::models {

struct ScviConfig {
  std::string model = "SCVI";  // "SCVI" or "LinearSCVI"
  int64_t n_genes = 0;
  int64_t n_batch = 1;
  int64_t n_labels = 1;
  std::vector<int64_t> n_cats_per_cov;  // extra categorical covariates
  int64_t n_continuous_cov = 0;
  int64_t n_hidden = 128;
  int64_t n_latent = 10;
  int n_layers = 1;
  double dropout_rate = 0.1;
  std::string dispersion = "gene";          // gene | gene-batch | gene-label | gene-cell
  std::string gene_likelihood = "zinb";     // zinb | nb | poisson
  std::string latent_distribution = "normal";  // normal | ln
  bool use_observed_lib_size = true;
  bool encode_covariates = false;
  bool deeply_inject_covariates = true;
  std::string use_batch_norm = "both";  // none | encoder | decoder | both
  std::string use_layer_norm = "none";  // none | encoder | decoder | both
  double var_eps = 1e-4;

  static ScviConfig linear_scvi();  // LDVAE defaults: nb, learned library, batch-norm decoder
  void validate() const;            // fail() with the offending option
  std::map<std::string, std::string> to_map() const;
  static ScviConfig from_map(const std::map<std::string, std::string>& m);
  std::string describe() const;     // multi-line human-readable summary

  bool bn_encoder() const { return use_batch_norm == "encoder" || use_batch_norm == "both"; }
  bool bn_decoder() const { return use_batch_norm == "decoder" || use_batch_norm == "both"; }
  bool ln_encoder() const { return use_layer_norm == "encoder" || use_layer_norm == "both"; }
  bool ln_decoder() const { return use_layer_norm == "decoder" || use_layer_norm == "both"; }
};

// Column layout of the injected one-hots: categoricals with <= 1 category contribute no column.
struct CovariateLayout {
  std::vector<int64_t> sizes;    // [n_batch] + n_cats_per_cov
  std::vector<int64_t> offsets;  // column offset of each categorical, -1 when it has <= 1 category
  int64_t columns = 0;           // total one-hot width
  int64_t n_codes = 0;           // categoricals that contribute columns (J)

  static CovariateLayout of(const ScviConfig& c);
  // sizes: [n_batch] + categories of each categorical covariate.
  static CovariateLayout of_sizes(const std::vector<int64_t>& sizes);
  // Appends the J code columns of one cell: offset + category for each contributing categorical.
  // batch first, then cat_covs in n_cats_per_cov order.
  void encode(int32_t batch, const int32_t* cat_covs, int32_t* out) const;
};

}  // namespace cuvi::models
