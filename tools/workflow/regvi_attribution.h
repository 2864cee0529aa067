// RegularizedMultimodalVI modality attribution (regularizedvi.md §9, get_modality_attribution and
// store_attribution_results): the covariate-removal options as input transforms, one decoder attribution per
// modality on a backend (engine/decoder_attribution.h), and the obsm/obs layout regularizedvi users read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/decoder_attribution.h"
#include "io/h5ad_writer.h"

namespace cuvi::workflow {

enum class RemoveCovariates { None, CatCovs, FeatureScaling, All };
enum class CovariateReference { Zero, Mean, Reference };

// regularizedvi's spellings: False/false/none, cat_covs, feature_scaling, all, True/true (= all).
RemoveCovariates parse_remove_covariates(const std::string& s);
// zero, mean, reference.
CovariateReference parse_covariate_reference(const std::string& s);
std::string to_string(RemoveCovariates r);
std::string to_string(CovariateReference r);

// Category codes of several categorical keys: codes (n_cells, n_cats.size()) row-major, code < n_cats[j].
struct CategoricalCodes {
  std::vector<int64_t> n_cats;
  std::vector<int32_t> codes;
  int64_t n_cells = 0;
};

// The most frequent code of each key (ties: the smallest code), regularizedvi's "reference" level. Computed
// over the registered data, which may be more cells than those attributed.
std::vector<int32_t> most_frequent_codes(const CategoricalCodes& c);

// The decoder's covariate input (n_cells, Q): one-hot blocks of the keys with more than one category (FCLayers
// drops single-category keys); with `remove`, every block is zeros, 1/n_cat, or the reference category.
std::vector<float> decoder_covariate_input(const CategoricalCodes& nn, bool remove, CovariateReference ref,
                                           const std::vector<int32_t>& reference_codes);

// The feature-scaling indicator (n_cells, rows): concatenated one-hots (sum over keys), 1/n_cat blocks ("mean")
// or reference one-hots; one column of ones when there are no scaling keys (the single table row). Returns
// false when scaling is dropped (removed with reference "zero": factor 1).
bool feature_scaling_indicator(const CategoricalCodes& fs, bool remove, CovariateReference ref,
                               const std::vector<int32_t>& reference_codes, std::vector<float>* indicator,
                               int64_t* n_rows);

struct ModalityDecoder {
  std::string name;
  int64_t n_latent = 0;          // width of this modality's own slice of z (its position: model order)
  DecoderWeights decoder;        // decoder.n_latent = the full z width (every decoder sees all of z)
  const float* feature_scaling = nullptr;  // (rows, F) raw gamma; null: the modality has no feature scaling
  int64_t feature_scaling_rows = 0;
};

struct AttributionRequest {
  std::vector<ModalityDecoder> modalities;  // model order (alphabetical registry order)
  int64_t n_cells = 0;
  const float* z = nullptr;                 // (N, sum n_latent) posterior means
  const float* cont = nullptr;              // (N, n_cont) or null
  std::vector<const float*> log_library;    // per modality, (N): the library inference used
  CategoricalCodes nn_covariates, fs_covariates;  // decoder (nn_conditioning) and feature-scaling keys
  std::vector<int32_t> nn_reference, fs_reference;  // most_frequent_codes over the registered data
  RemoveCovariates remove = RemoveCovariates::None;
  CovariateReference reference = CovariateReference::Zero;
};

struct ModalityAttribution {
  std::string name;
  int64_t n_latent = 0;            // own slice width
  std::vector<float> attribution;  // (N, sum n_latent) mean |d px_rate / d z| per latent column
};

std::vector<ModalityAttribution> modality_attribution(Backend& backend, const AttributionRequest& req,
                                                      int64_t chunk_cells = 0);

// store_attribution_results: obsm['X_latent_attr_{m}{suffix}'] = z * attribution, obs['{m}_decoder_total_attr
// {suffix}'] (row sum), obs['{m}_decoder_own_attr{suffix}'] (sum over m's own z slice, model order) and, with
// two modalities, obs['log2_{m0}_vs_{m1}_attr{suffix}'] = log2(total0 / (total1 + 1e-10)).
// z and every attribution: (N, width), width = attribution size / N.
void store_attribution_results(io::H5adWriter& out, const std::vector<ModalityAttribution>& attr,
                               const float* z,  // (N, sum n_latent)
                               int64_t n_cells, const std::string& suffix = "");

}  // namespace cuvi::workflow
