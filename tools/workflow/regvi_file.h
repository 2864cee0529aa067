// RegularizedVI model files (the shared model-file layer, model_file.h): the configuration map plus the
// purpose keys ("setup.*"), the data registry (genes / regions, category names per covariate key), every
// weight and buffer under regularizedvi's state-dict names; and opening a model on a data set for inference.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/regularized_vi/regvi_model.h"
#include "tools/workflow/model_file.h"
#include "tools/workflow/regvi_train.h"

namespace cuvi::workflow {

constexpr const char* kRegviKind = "cuvi.regularizedvi";

struct RegviFile {
  models::RegviConfig config;
  RegviKeys keys;
  ModelFile file;
};

void save_regvi(const std::string& path, const models::RegviModel& model, const RegviKeys& keys,
                const DataRegistry& registry, const std::map<std::string, std::vector<double>>& history,
                const std::map<std::string, std::string>& info);
RegviFile regvi_from(ModelFile f);  // fails naming the file when it holds another kind of model
RegviFile read_regvi(const std::string& path);
// The model with the file's weights and buffers (no cells: see open_regvi).
std::unique_ptr<models::RegviModel> load_regvi_model(const RegviFile& f, Backend& backend, uint64_t seed);

// A model on a data set: the data registered with the model's keys and categories (unknown categories,
// other genes: errors naming them), the per-cell purpose codes set, the modality columns located.
struct RegviInference {
  RegviFile file;
  PreparedData data;
  std::unique_ptr<models::RegviModel> model;
  std::vector<int64_t> col0;  // first column of each modality (model order) in data.counts()
};
RegviInference open_regvi(const std::string& model_path, const std::string& data_path, Backend& backend,
                          uint64_t seed, bool strict_counts = false);
// The same over a model file and data already registered with its keys and registry (an AnnData in
// memory); col0 as prepare_regvi_data fills it.
RegviInference open_regvi(RegviFile file, PreparedData data, std::vector<int64_t> col0, Backend& backend,
                          uint64_t seed);
// Registers a data set for a (new or stored) configuration: .h5ad for one modality; for two modalities
// (rna + atac) an .h5mu / multiome file through the MULTIVI multiome loader. Fills col0.
PreparedData prepare_regvi_data(const std::string& path, const RegviKeys& keys, const std::string& layer,
                                const std::vector<std::string>& modality_names, const DataRegistry* model,
                                bool strict_counts, std::vector<int64_t>* col0);

}  // namespace cuvi::workflow
