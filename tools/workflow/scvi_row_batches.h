// Eval-mode passes over an arbitrary list of dataset rows (repeats allowed) through the device
// loader, for the analyses that need chosen (cell, sample) pairs: DE scale sampling, marginal LL.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "tools/workflow/scvi_tasks.h"

namespace cuvi::workflow {

// Sets the Philox step every random op of the next forward pass draws at.
inline void set_philox_step(Backend& backend, int64_t step) {
  StepScalars s = backend.read_scalars();
  s.step = step;
  backend.write_scalars(s);
}

// Runs fn(tape, minibatch, first) over `rows` (dataset row indices, in order, repeats allowed) in
// minibatches of at most `batch_size` cells; `first` is the position of the minibatch's first row in
// `rows`. Minibatch b (counted over the whole list) draws noise at Philox step step_base + b.
// The loader's epoch buffer holds at most n_rows() entries, so long lists run as several epochs.
// Returns the number of minibatches run.
template <class F>
int64_t for_each_row_batch(ScviSession& session, const std::vector<int32_t>& rows, int64_t batch_size,
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

}  // namespace cuvi::workflow
