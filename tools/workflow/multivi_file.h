// MULTIVI model files: the model-file layer (model_file.h) with a MULTIVI configuration, the genes and
// regions of the training data and its multiome keys; the adversarial classifier's weights travel too.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/multivi/multivi_model.h"
#include "tools/workflow/model_file.h"

namespace cuvi::workflow {

struct MultiviFile {
  models::MultiviConfig config;
  ModelFile file;
};

void save_multivi(const std::string& path, const models::MultiviModel& model, const DataRegistry& registry,
                  const std::map<std::string, std::vector<double>>& history,
                  const std::map<std::string, std::string>& info);
MultiviFile multivi_from(ModelFile f);  // fails naming the file when it is another kind of model
MultiviFile read_multivi(const std::string& path);
std::unique_ptr<models::MultiviModel> load_multivi_model(const MultiviFile& f, Backend& backend, uint64_t seed);

}  // namespace cuvi::workflow
