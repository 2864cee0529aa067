// In-process MRVI workflows for tests: a simulated cohort registered like `cuvi train mrvi` does
// (sample = donor, batch, optional labels) and a model trained on it on the CPU backend.
#pragma once
#include <memory>
#include <string>

#include "tests/models/scvi_test_util.h"
#include "tools/workflow/mrvi_session.h"
#include "tools/workflow/mrvi_train.h"

namespace cuvi::test {

// A small simulated cohort: 6 donors in 2 batches, 3 cell types.
inline workflow::SimulationConfig small_cohort(uint64_t seed = 5) {
  workflow::SimulationConfig c;
  c.n_cells = 360;
  c.n_genes = 40;
  c.n_cell_types = 3;
  c.n_batches = 2;
  c.n_donors = 6;
  c.seed = seed;
  return c;
}

inline workflow::PreparedData cohort_data(const workflow::SimulationConfig& c, const std::string& path,
                                          bool labels = false) {
  workflow::write_simulation(workflow::simulate(c), c, path);
  workflow::SetupKeys k;
  k.sample_key = "donor";
  k.batch_key = "batch";
  if (labels) k.labels_key = "cell_type";
  return workflow::prepare_data(path, k);
}

// Small widths that keep the tests fast; every option keeps its scvi-tools default otherwise.
inline models::MrviConfig small_mrvi() {
  models::MrviConfig c;
  c.n_latent = 6;
  c.n_latent_u = 4;
  c.encoder_n_hidden = 16;
  return c;
}

struct TrainedMrvi {
  std::unique_ptr<Backend> backend;
  workflow::PreparedData data;
  std::unique_ptr<models::MrviModel> model;
  TrainResult result;
};

inline std::unique_ptr<TrainedMrvi> train_mrvi_cpu(workflow::PreparedData data, TrainConfig tc,
                                                   models::MrviConfig cfg = small_mrvi()) {
  auto t = std::make_unique<TrainedMrvi>();
  t->backend = make_cpu_backend(tc.seed);  // OMP_NUM_THREADS (run_tests.sh: cores per ctest job)
  t->data = std::move(data);
  t->model = workflow::new_mrvi_model(t->data, cfg, *t->backend, tc.seed);
  tc.progress = false;
  t->result = workflow::train_mrvi(*t->model, t->data, *t->backend, tc);
  return t;
}

}  // namespace cuvi::test
