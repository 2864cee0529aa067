// MRVI model files: the model-file layer (model_file.h) with an MRVI configuration, the sample
// registry and the per-sample covariates of the training data.
#pragma once
#include <memory>
#include <string>

#include "models/mrvi/mrvi_model.h"
#include "tools/workflow/model_file.h"

namespace cuvi::workflow {

struct MrviFile {
  models::MrviConfig config;
  ModelFile file;
};

void save_mrvi(const std::string& path, const models::MrviModel& model, const DataRegistry& registry,
               const SampleTable& samples, const std::map<std::string, std::vector<double>>& history,
               const std::map<std::string, std::string>& info);
MrviFile mrvi_from(ModelFile f);  // fails naming the file when it is another kind of model
MrviFile read_mrvi(const std::string& path);
// A model on `backend` with the file's weights and buffers.
std::unique_ptr<models::MrviModel> load_mrvi_model(const MrviFile& f, Backend& backend, uint64_t seed);

}  // namespace cuvi::workflow
