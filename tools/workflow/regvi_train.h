// RegularizedVI on registered data (regularizedvi.md §2-4, §8, §3 training): the purpose-based covariate
// keys and their batch_key fan-out, the per-cell codes of each purpose, the configuration sized by the data,
// the data-driven init, and training through the shared trainer with N = the training-set size.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/trainer.h"
#include "models/regularized_vi/regvi_model.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

// setup_anndata / setup_mudata's keys (regularizedvi's names).
struct RegviKeys {
  std::string batch_key, size_factor_key, dispersion_key, library_size_key;
  std::vector<std::string> ambient_covariate_keys, nn_conditioning_covariate_keys, continuous_covariate_keys;
  std::vector<std::string> feature_scaling_covariate_keys, encoder_covariate_keys;
  bool feature_scaling_set = false;  // false: defaults to the nn-conditioning keys
  bool resolved_keys = false;        // purpose keys already resolved (read back from a model file)

  // batch_key fans out to ambient = [batch], dispersion = library = batch; together with any of those
  // keys it is an error (the reference's ValueError). Unset ambient/dispersion/library keys after the
  // fan-out leave one group (the reference's single-modal model raises instead).
  RegviKeys resolved() const;
  // The shared registration: every purpose column as a categorical covariate (each once).
  SetupKeys setup_keys(const std::string& layer) const;
  std::map<std::string, std::string> to_map() const;  // "setup.<key>" entries of the model file's config
  static RegviKeys from_map(const std::map<std::string, std::string>& m);
};

// Category counts of each purpose in `cfg` and the per-cell codes from a registration made with
// keys.setup_keys(). Fails naming a size-factor column that is missing, non-numeric or not positive.
models::RegviCells regvi_cells(const PreparedData& data, const RegviKeys& keys, models::RegviConfig* cfg);

// Counts of one modality as a CSR view over columns [col0, col0 + n) of the registered matrix (copied).
struct CsrSlice {
  std::vector<int64_t> indptr;
  std::vector<int32_t> indices;
  std::vector<float> data;
  CsrView view;
};
CsrSlice csr_columns(const CsrView& x, int64_t col0, int64_t n);

// A new model for the data: sized, allocated, data-initialised; col0[m]: the first column of modality m
// (model order) in the registered matrix.
std::unique_ptr<models::RegviModel> new_regvi_model(const PreparedData& data, const RegviKeys& keys,
                                                    models::RegviConfig cfg, const std::vector<int64_t>& col0,
                                                    Backend& backend, uint64_t seed);
// scvi TrainingPlan defaults (Adam lr 1e-3, eps 0.01, wd 1e-6, warm-up 400 epochs, train_size 0.9).
TrainConfig regvi_train_config();
// N of the global terms for this run: the training cells of the split the trainer will draw.
int64_t training_set_size(int64_t n_cells, const TrainConfig& tc);
TrainResult train_regvi(models::RegviModel& model, const PreparedData& data, Backend& backend, const TrainConfig& tc,
                        const LoaderOptions& loader = {});

}  // namespace cuvi::workflow
