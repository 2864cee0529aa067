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
  cfg.n_genes = t->data.data.counts.n_cols;
  cfg.n_batch = int64_t(t->data.registry.batch_categories.size());
  cfg.n_labels = int64_t(t->data.registry.label_categories.size());
  t->model = std::make_unique<models::ScviModel>(cfg);
  t->model->allocate(*t->backend, tc.seed);
  workflow::encode_codes(t->data, t->model->module().layout());
  t->model->set_library_prior_from_counts(t->data.totals, t->data.cells.batch);
  const io::CsrMatrix& m = t->data.data.counts;
  DeviceDataset ds(*t->backend, CsrView{m.indptr.data(), m.indices.data(), m.data.data(), m.n_rows, m.n_cols},
                   t->data.cells);
  tc.progress = false;
  Trainer trainer(*t->backend, *t->model, ds, tc);
  t->result = trainer.fit();
  return t;
}

}  // namespace cuvi::test
