// SCVI inference over every cell of a file: latent representation and normalized expression
// (scvi-multivi.md §1.7), batched through the device loader, noise drawn per batch from the seed.
#pragma once
#include <memory>
#include <vector>

#include "models/scvi/scvi_model.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

struct NormalizeOptions {
  bool library_latent = false;       // px_rate (observed/learned library) instead of px_scale * size
  double library_size = 1.0;
  int64_t n_samples = 1;             // posterior samples averaged
  std::vector<int64_t> transform_batches;  // batch codes seen by the decoder; empty = observed batch
  std::vector<int64_t> genes;        // gene indices to return; empty = all
};

class ScviSession {
 public:
  ScviSession(Backend& backend, models::ScviModel& model, PreparedData& data, int64_t batch_size = 128,
              const LoaderOptions& loader = {});
  // (R, L): posterior mean of z (give_mean), or one sample; for latent_distribution "ln" the mean is
  // the average of softmax over mc_samples draws, as scvi-tools does.
  std::vector<float> latent(bool give_mean, uint64_t seed, int64_t mc_samples = 5000);
  // (R, G'): normalized expression (sampled z, averaged over samples and transform batches).
  std::vector<float> normalized_expression(const NormalizeOptions& opt, uint64_t seed);
  DeviceDataset& dataset() { return *m_data; }
  Backend& backend() { return m_backend; }
  models::ScviModel& model() { return m_model; }
  Arena& arena() { return m_arena; }

  // Runs fn(tape, minibatch, first_row) over all cells in file order; batch b draws noise at
  // Philox step `step_base + b`.
  template <class F>
  void for_each_batch(uint32_t step_base, F&& fn);

 private:
  void set_step(int64_t step);
  Backend& m_backend;
  models::ScviModel& m_model;
  std::unique_ptr<DeviceDataset> m_data;
  Arena m_arena;
  int64_t m_batch_size;
  std::vector<int32_t> m_all_rows;
};

template <class F>
void ScviSession::for_each_batch(uint32_t step_base, F&& fn) {
  m_data->begin_epoch(m_all_rows, false, 0, 0, m_batch_size);
  Tape tape(m_backend, m_arena);
  const StepScalars saved = m_backend.read_scalars();
  for (int64_t b = 0; b < m_data->n_batches(); ++b) {
    set_step(int64_t(step_base) + b);
    tape.begin_step();
    const MiniBatch mb = m_data->batch(b, m_arena);
    fn(tape, mb, b * m_batch_size);
  }
  m_backend.write_scalars(saved);
}

// Downloads rows [0, n) of a (n, cols) tensor into out at row offset `row0` with row stride `ld`.
void download_rows(Backend& b, const Tensor& t, float* out, int64_t row0, int64_t ld);

}  // namespace cuvi::workflow
