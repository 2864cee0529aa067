// Training an SCVI or LinearSCVI on registered data (scvi-multivi.md §1.1, §4.1): the configuration the
// data imply, the model with its library prior, the device dataset and the trainer. `cuvi train` and the
// Python package's train() both run this.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/trainer.h"
#include "models/scvi/scvi_model.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

// scvi-tools' defaults for `kind` ("scvi" or "linear-scvi"); fails naming the models this version trains.
models::ScviConfig scvi_defaults(const std::string& kind);
// The same sized for the registered genes, batches, labels and covariates; the caller sets the remaining
// options and validates.
models::ScviConfig scvi_config_for(const std::string& kind, const PreparedData& data);

struct ScviTraining {
  std::unique_ptr<models::ScviModel> model;
  TrainResult result;
};

// Trains a new model of configuration `cfg` on every cell of `data` (its covariate codes are encoded here).
// `on_data`, when given, sees the device dataset before the first epoch.
ScviTraining train_scvi(Backend& backend, const models::ScviConfig& cfg, PreparedData& data, const TrainConfig& tc,
                        const LoaderOptions& loader = {},
                        const std::function<void(const DeviceDataset&)>& on_data = {});

// What a model file records about its training: device, seed, epochs, seconds, split sizes, data source.
std::map<std::string, std::string> training_facts(const Backend& backend, const TrainConfig& tc, const TrainResult& r,
                                                  const std::string& data_source);

}  // namespace cuvi::workflow
