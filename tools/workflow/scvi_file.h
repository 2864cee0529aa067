// SCVI model files: the model-file layer (model_file.h) with an SCVI configuration.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "models/scvi/scvi_model.h"
#include "tools/workflow/model_file.h"

namespace cuvi::workflow {

struct ScviFile {
  models::ScviConfig config;
  DataRegistry registry;
  std::map<std::string, std::vector<double>> history;
  std::map<std::string, std::string> info;  // training facts: device, seed, epochs, seconds, cuvi version
  ModelFile file;  // weights (by parameter name), the kind and the path it was read from
};

// A model's file form: its configuration and current weights with the registry, history and facts.
ScviFile scvi_file_of(const models::ScviModel& model, const DataRegistry& registry,
                      const std::map<std::string, std::vector<double>>& history,
                      const std::map<std::string, std::string>& info);
void save_scvi(const std::string& path, const ScviFile& f);
void save_scvi(const std::string& path, const models::ScviModel& model, const DataRegistry& registry,
               const std::map<std::string, std::vector<double>>& history,
               const std::map<std::string, std::string>& info);
ScviFile read_scvi(const std::string& path);
ScviFile scvi_from(ModelFile f);  // fails naming the file when it is another kind of model
// A model on `backend` with the file's weights.
std::unique_ptr<models::ScviModel> load_scvi_model(const ScviFile& f, Backend& backend, uint64_t seed);

}  // namespace cuvi::workflow
