// Device-resident minibatch loader: the count matrix is uploaded once as CSR (values exact), each
// epoch's row order is a Philox shuffle computed on the device, and each minibatch is gathered and
// densified on the device at a cursor held in device memory (so a captured step graph gathers the next
// minibatch on each replay). When the matrix exceeds the memory budget, rows stream from the host in
// super-batches, the next one prefetched while the current one trains (same minibatches either way).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/arena.h"
#include "engine/backend.h"
#include "engine/csr_view.h"  // the counts are borrowed; they must outlive the dataset in streaming mode
#include "engine/tensor.h"

namespace cuvi {


// Per-cell covariates (host), gathered alongside the counts.
struct CellTable {
  std::vector<int32_t> codes;  // (R, n_codes) one-hot column offsets of [batch] + categorical covariates
  int64_t n_codes = 0;
  std::vector<int32_t> batch;   // (R)
  std::vector<int32_t> labels;  // (R)
  std::vector<float> cont;      // (R, n_cont) continuous covariates
  int64_t n_cont = 0;
};

struct LoaderOptions {
  size_t memory_budget_bytes = 0;  // 0: resident if the data fit 80% of free device memory
  int64_t prefetch_batches = 32;   // minibatches per streamed super-batch
};

// One minibatch on the backend, allocated in the step arena.
struct MiniBatch {
  int64_t n = 0;
  Tensor x;       // (N, G) dense counts
  Tensor x_log1p;      // (N, G) log1p(x), the encoders' input, from the same gather pass
  Tensor log_library;  // (N, 1) log of each cell's total count (scvi's observed library)
  Tensor codes;   // (N, J) i32, or undefined when J = 0
  Tensor batch;   // (N) i32
  Tensor labels;  // (N) i32
  Tensor cont;    // (N, C), or undefined when C = 0
  Tensor rows;    // (N) i32 dataset row of each cell
};

class DeviceDataset {
 public:
  DeviceDataset(Backend& backend, const CsrView& counts, const CellTable& cells, const LoaderOptions& options = {});
  ~DeviceDataset();
  bool streaming() const { return m_streaming; }
  int64_t n_rows() const { return m_counts.n_rows; }
  int64_t n_genes() const { return m_counts.n_cols; }
  int64_t n_codes() const { return m_cells.n_codes; }
  int64_t n_cont() const { return m_cells.n_cont; }

  // Starts an epoch over `rows` (dataset row indices), shuffled by (seed, epoch) or kept in order.
  void begin_epoch(const std::vector<int32_t>& rows, bool shuffle, uint64_t seed, uint32_t epoch,
                   int64_t batch_size);
  int64_t n_batches() const;
  int64_t batch_rows(int64_t b) const;  // cells in minibatch b
  // Minibatch b, gathered into the arena. Resident data: its rows are taken at the cursor
  // StepScalars::batch_start, read and advanced by the backend (on CUDA a device kernel), so minibatches
  // are gathered in order 0, 1, ... once each per epoch (as when streaming).
  MiniBatch batch(int64_t b, Arena& arena);
  // A replayed step graph gathered minibatch b: the device cursor moved without a batch() call.
  void batch_replayed(int64_t b);
  // A capture that recorded minibatch b's gather was discarded: the device cursor did not move.
  void batch_discarded(int64_t b);
  // A minibatch of n cells with placeholder contents, for planning a step in a measuring arena.
  MiniBatch planning_batch(int64_t n, Arena& measuring) const;
  // Reads the error a device kernel of the gather recorded (a cursor past the epoch, a row outside the matrix)
  // and fails with it in one line, clearing it. Synchronises; the trainer calls it after each epoch.
  void check_device_errors();
  // The epoch's row order on the host (tests and inference bookkeeping; synchronises).
  std::vector<int32_t> epoch_order();

 private:
  struct Stream;
  MiniBatch gather(Arena& arena, const Tensor& csr_indptr, const Tensor& csr_indices, const Tensor& csr_data,
                   const Tensor& local_rows, const int32_t* dataset_rows_dev, int64_t n);
  // Resident data on CUDA: the whole minibatch (rows at the device cursor, tables, counts, log1p, library) in
  // one launch that also moves the cursor.
  MiniBatch gather_at_cursor(int64_t n, Arena& arena);

  Backend& m_backend;
  CsrView m_counts;
  CellTable m_cells;
  bool m_streaming = false;
  DeviceBuffer m_indptr, m_indices, m_data;  // resident CSR
  DeviceBuffer m_codes, m_batch, m_labels, m_cont, m_identity;
  DeviceBuffer m_subset, m_order, m_epoch_rows, m_scratch;
  std::vector<int32_t> m_host_order;  // streaming: the epoch's row sequence
  int64_t m_epoch_n = 0, m_batch_size = 0;
  int64_t m_next_batch = 0;  // host record of the cursor: the minibatch gathered next
  std::unique_ptr<Stream> m_stream;
};

}  // namespace cuvi
