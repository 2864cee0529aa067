// In-process SCVI workflows for tests: a simulated data set registered like `cuvi train` does, and a
// trained model with its history and latent, on the CPU backend.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <unistd.h>

#include "models/scvi/scvi_model.h"
#include "tests/test_env.h"
#include "tools/workflow/scvi_tasks.h"
#include "tools/workflow/scvi_train.h"
#include "tools/workflow/simulate.h"

namespace cuvi::test {


inline std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("cuvi_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Writes the simulation to a temporary .h5ad and registers it (batch key "batch", labels "cell_type").
inline workflow::PreparedData simulated(const workflow::SimulationConfig& c, const std::string& path) {
  workflow::write_simulation(workflow::simulate(c), c, path);
  workflow::SetupKeys k;
  k.batch_key = "batch";
  k.labels_key = "cell_type";
  return workflow::prepare_data(path, k);
}

struct TrainedScvi {
  std::unique_ptr<Backend> backend;
  workflow::PreparedData data;
  std::unique_ptr<models::ScviModel> model;
  TrainResult result;
};

inline std::unique_ptr<TrainedScvi> train_scvi(workflow::PreparedData data, TrainConfig tc,
                                                models::ScviConfig cfg = models::ScviConfig()) {
  auto t = std::make_unique<TrainedScvi>();
  t->backend = make_cpu_backend(tc.seed);  // OMP_NUM_THREADS (run_tests.sh: cores per ctest job)
  t->data = std::move(data);
  cfg.n_genes = t->data.counts().n_cols;
  cfg.n_batch = int64_t(t->data.registry.batch_categories.size());
  cfg.n_labels = int64_t(t->data.registry.label_categories.size());
  tc.progress = false;
  workflow::ScviTraining r = workflow::train_scvi(*t->backend, cfg, t->data, tc);
  t->model = std::move(r.model);
  t->result = std::move(r.result);
  return t;
}

}  // namespace cuvi::test
