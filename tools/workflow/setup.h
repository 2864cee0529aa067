// Data registration, the counterpart of scvi-tools' setup_anndata (scvi-multivi.md §4.3): which
// matrix holds the counts, which obs columns are batch, labels and covariates, and their category
// registries. A trained model keeps its registry; new files are mapped onto it by category name.
#pragma once
#include <string>
#include <vector>

#include "engine/loader.h"
#include "io/dataset.h"
#include "models/scvi/scvi_config.h"

namespace cuvi::workflow {

struct SetupKeys {
  std::string layer;  // "" = X, "raw", or a layer name
  std::string modality, genome, feature_type;
  std::string batch_key, labels_key;
  std::vector<std::string> categorical_covariate_keys, continuous_covariate_keys;
};

// What a model remembers about its training data.
struct DataRegistry {
  SetupKeys keys;
  std::vector<std::string> genes;
  std::vector<std::string> batch_categories{"0"}, label_categories{"0"};
  std::vector<std::vector<std::string>> covariate_categories;  // per categorical covariate key
};

struct PreparedData {
  io::Dataset data;             // data.counts stays empty when the counts are borrowed
  CsrView borrowed;             // counts lent by the caller (an AnnData in memory), else unset
  DataRegistry registry;
  CellTable cells;              // codes are raw categories here; see encode_codes
  std::vector<int32_t> cat_covs;  // (R, n_cat_keys) raw category codes
  std::vector<double> totals;   // per-cell count totals

  // The registered count matrix: the borrowed one, or data.counts.
  CsrView counts() const { return borrowed.indptr ? borrowed : CsrView(data.counts); }
};

// Loads the file and registers its columns. With `model` (inference), categories and genes must be
// those the model was trained with: unknown categories and different genes are errors. Fractional
// counts load with a warning in data.warnings (scvi-tools warns and trains); strict_counts refuses them.
PreparedData prepare_data(const std::string& path, const SetupKeys& keys, const DataRegistry* model = nullptr,
                          bool strict_counts = false);
// The registration of prepare_data for a dataset already in memory (data.path names it in messages). With
// `borrowed`, the counts are that matrix (validated by the caller, kept alive by it) instead of data.counts.
PreparedData register_dataset(io::Dataset data, const SetupKeys& keys, const DataRegistry* model = nullptr,
                              const CsrView* borrowed = nullptr);

// Fills cells.codes/n_codes with the one-hot column offsets of [batch] + categorical covariates.
void encode_codes(PreparedData& p, const models::CovariateLayout& layout);

}  // namespace cuvi::workflow
