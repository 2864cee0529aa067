// Everything an inference command needs from a model file and a data file: the model on a backend,
// the data registered with the model's keys and categories, and a session over all cells.
#pragma once
#include <memory>
#include <string>

#include "tools/workflow/scvi_file.h"
#include "tools/workflow/scvi_tasks.h"

namespace cuvi::workflow {

struct ScviInference {
  ScviFile file;
  std::unique_ptr<models::ScviModel> model;
  PreparedData data;
  std::unique_ptr<ScviSession> session;
};

// Data keys come from the model's registry; genes and categories must match the model's.
ScviInference open_scvi_inference(const std::string& model_path, const std::string& data_path, Backend& backend,
                                  uint64_t seed, int64_t batch_size, const LoaderOptions& loader = {},
                                  bool strict_counts = false);
// The same for a model and data already in memory (data registered with the model's registry).
ScviInference open_scvi_inference(ScviFile file, PreparedData data, Backend& backend, uint64_t seed,
                                  int64_t batch_size, const LoaderOptions& loader = {});

}  // namespace cuvi::workflow
