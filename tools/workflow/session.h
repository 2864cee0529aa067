// An inference session over every cell of a file, for any trainable model: the data on the device
// loader, an arena planned from the model's eval step, and loops over minibatches that set the Philox
// step of each pass (file order, or an arbitrary list of rows).
#pragma once
#include <algorithm>
#include <memory>
#include <vector>

#include "engine/trainer.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

// Sets the Philox step every random op of the next forward pass draws at.
inline void set_philox_step(Backend& backend, int64_t step) {
  StepScalars s = backend.read_scalars();
  s.step = step;
  backend.write_scalars(s);
}

// get_normalized_expression's options, shared by the models that decode expression.
struct NormalizeOptions {
  bool library_latent = false;       // px_rate (observed/learned library) instead of px_scale * size
  double library_size = 1.0;
  int64_t n_samples = 1;             // posterior samples averaged
  std::vector<int64_t> transform_batches;  // batch codes seen by the decoder; empty = observed batch
  std::vector<int64_t> genes;        // gene indices to return; empty = all
};

class InferenceSession {
 public:
  // extra_bytes: arena room beyond 1.25x the planned eval step (analysis buffers).
  InferenceSession(Backend& backend, TrainableModel& model, PreparedData& data, int64_t batch_size,
                   const LoaderOptions& loader, size_t extra_bytes);
  virtual ~InferenceSession() = default;
  DeviceDataset& dataset() { return *m_data; }
  Backend& backend() { return m_backend; }
  Arena& arena() { return m_arena; }
  int64_t batch_size() const { return m_batch_size; }

  // Runs fn(tape, minibatch, first_row) over all cells in file order; batch b draws noise at
  // Philox step `step_base + b`.
  template <class F>
  void for_each_batch(uint32_t step_base, F&& fn);

 protected:
  Backend& m_backend;
  std::unique_ptr<DeviceDataset> m_data;
  Arena m_arena;
  int64_t m_batch_size;
  std::vector<int32_t> m_all_rows;
};

template <class F>
void InferenceSession::for_each_batch(uint32_t step_base, F&& fn) {
  m_data->begin_epoch(m_all_rows, false, 0, 0, m_batch_size);
  Tape tape(m_backend, m_arena);
  const StepScalars saved = m_backend.read_scalars();
  for (int64_t b = 0; b < m_data->n_batches(); ++b) {
    set_philox_step(m_backend, int64_t(step_base) + b);
    tape.begin_step();
    const MiniBatch mb = m_data->batch(b, m_arena);
    fn(tape, mb, b * m_batch_size);
  }
  m_backend.write_scalars(saved);
}

// Runs fn(tape, minibatch, first) over `rows` (dataset row indices, in order, repeats allowed) in
// minibatches of at most `batch_size` cells; `first` is the position of the minibatch's first row in
// `rows`. Minibatch b (counted over the whole list) draws noise at Philox step step_base + b.
// The loader's epoch buffer holds at most n_rows() entries, so long lists run as several epochs.
// Returns the number of minibatches run.
template <class F>
int64_t for_each_row_batch(InferenceSession& session, const std::vector<int32_t>& rows, int64_t batch_size,
                           int64_t step_base, F&& fn) {
  DeviceDataset& data = session.dataset();
  Backend& backend = session.backend();
  const int64_t R = data.n_rows(), n = int64_t(rows.size());
  const int64_t bs = std::max<int64_t>(1, std::min(batch_size, R));
  const int64_t chunk = std::max<int64_t>(bs, R / bs * bs);  // whole minibatches per epoch
  Tape tape(backend, session.arena());
  const StepScalars saved = backend.read_scalars();
  int64_t b_global = 0;
  for (int64_t c0 = 0; c0 < n; c0 += chunk) {
    const int64_t len = std::min(chunk, n - c0);
    const std::vector<int32_t> part(rows.begin() + c0, rows.begin() + c0 + len);
    data.begin_epoch(part, false, 0, 0, bs);
    for (int64_t b = 0; b < data.n_batches(); ++b, ++b_global) {
      set_philox_step(backend, step_base + b_global);
      tape.begin_step();
      const MiniBatch mb = data.batch(b, session.arena());
      fn(tape, mb, c0 + b * bs);
    }
  }
  backend.write_scalars(saved);
  return b_global;
}

// The genes of a normalized-expression request (every gene when none are listed), range-checked.
std::vector<int64_t> normalize_genes(const NormalizeOptions& opt, int64_t n_genes);
// Adds scale * the selected genes of a (n, G) tensor to rows [row0, row0 + n) of out (R, genes).
void accumulate_genes(Backend& b, const Tensor& t,  // (n, G)
                      const std::vector<int64_t>& genes, double scale, int64_t row0,
                      float* out);  // (R, genes.size())

// Downloads rows [0, n) of a (n, cols) tensor into out at row offset `row0` with row stride `ld`.
void download_rows(Backend& b, const Tensor& t, float* out, int64_t row0, int64_t ld);

}  // namespace cuvi::workflow
