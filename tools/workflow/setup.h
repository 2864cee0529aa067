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

// MULTIVI's sources (scvi-multivi.md §2.1; file-formats.md §2-§3): an .h5mu (its RNA and ATAC
// modalities aligned by obs names / obsmap, unpaired cells allowed), a 10x multiome .h5 (Gene Expression
// + Peaks), or an .h5ad with var['feature_types']; optionally RNA-only and ATAC-only files
// concatenated the way scvi-tools' organize_multiome_anndatas does. A modality column tells each cell's
// kind (paired, expression, accessibility).
struct MultiomeKeys {
  bool enabled = false;
  std::string rna_modality = "rna", atac_modality = "atac";  // .h5mu modality names
  std::string atac_layer;                                    // the RNA layer is SetupKeys::layer
  std::string rna_data, atac_data;                           // extra single-modality files
  std::string modality_key = "modality";                     // obs column written for each cell
};

struct SetupKeys {
  std::string layer;  // "" = X, "raw", or a layer name
  std::string modality, genome, feature_type;
  MultiomeKeys multiome;
  std::string batch_key, labels_key;
  std::string sample_key;  // MRVI: the sample (donor, patient, perturbation) of each cell
  std::vector<std::string> categorical_covariate_keys, continuous_covariate_keys;
};

// What a model remembers about its training data.
struct DataRegistry {
  SetupKeys keys;
  std::vector<std::string> genes;
  std::vector<std::string> regions;  // MULTIVI: accessibility features (columns after the genes)
  std::vector<std::string> batch_categories{"0"}, label_categories{"0"};
  std::vector<std::string> sample_categories;  // registered order of sample_key (empty without one)
  std::vector<std::vector<std::string>> covariate_categories;  // per categorical covariate key
};

struct PreparedData {
  io::Dataset data;             // data.counts stays empty when the counts are borrowed
  CsrView borrowed;             // counts lent by the caller (an AnnData in memory), else unset
  DataRegistry registry;
  CellTable cells;              // codes are raw categories here; see encode_codes
  std::vector<int32_t> sample;  // (R) sample codes (sample_key registered), else empty
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
// The registration of prepare_data for a dataset already in memory (data.path names it in messages): batch, labels,
// samples and covariates from its obs, features checked by the caller. With
// `borrowed`, the counts are that matrix (validated by the caller, kept alive by it) instead of data.counts.
PreparedData register_dataset(io::Dataset data, const SetupKeys& keys, const DataRegistry* model = nullptr,
                              const CsrView* borrowed = nullptr);

// Category labels (pandas order: the categorical's own, else sorted values) and per-cell codes of an obs
// column; a missing value is an error naming the file, the column and the cell.
void column_categories(const io::Column& c, const std::string& file, std::vector<std::string>* cats,
                       std::vector<int32_t>* codes);
// Fills cells.codes/n_codes with the one-hot column offsets of [batch] + categorical covariates.
void encode_codes(PreparedData& p, const models::CovariateLayout& layout);
// Fills cells.codes with one column, the sample code (MRVI's loader layout).
void encode_sample_codes(PreparedData& p);
// Cells per registered sample (S).
std::vector<int64_t> cells_per_sample(const PreparedData& p);

}  // namespace cuvi::workflow
