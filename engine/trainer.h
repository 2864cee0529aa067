// Trainer with scvi-tools' defaults (scvi-multivi.md §4.1): data split and its straggler rule, the
// max-epochs heuristic, KL warm-up, Adam, validation ELBO, early stopping with restore of the best
// weights, per-epoch history, a progress bar on a terminal, deterministic for a seed and device.
// On CUDA each step is one captured graph, replayed per minibatch size (DESIGN.md decision 4).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/loader.h"
#include "engine/optimizer_set.h"
#include "engine/tape.h"

namespace cuvi {

// What one minibatch contributes: the loss to report and per-cell metric vectors (N). The backward pass
// starts from `objective` when set (e.g. the VAE loss plus the adversarial classifier's own loss, whose
// parameters a second optimizer steps), else from `loss`.
struct StepTensors {
  TensorId loss = kNoTensor;
  TensorId objective = kNoTensor;
  TensorId metrics[3] = {kNoTensor, kNoTensor, kNoTensor};  // e.g. reconstruction_loss, kl_local, kl_global
};

// A model as the trainer sees it: parameters and a forward pass recorded on the tape.
class TrainableModel {
 public:
  virtual ~TrainableModel() = default;
  virtual ParamStore& params() = 0;
  // Must issue the same work for the same minibatch size and mode: on CUDA the trainer captures one
  // step per (size, mode) and replays it, so anything that varies per step lives in device memory.
  virtual StepTensors record(Tape& tape, const MiniBatch& batch, bool training) = 0;
  // Names of the metrics returned in StepTensors::metrics (empty string = unused).
  virtual std::vector<std::string> metric_names() const = 0;
  // Parameters stepped by an optimizer of their own in each training step (scvi-tools' adversarial
  // classifier, scvi-multivi.md §2.5); every other parameter belongs to TrainConfig::optimizer.
  virtual std::vector<ParamGroup> extra_optimizers() const { return {}; }
};

// Where a run stands, for a caller's progress display: after every training step, and once per epoch when
// the epoch's history (training and validation) is complete.
struct TrainProgress {
  int64_t epoch = 0, max_epochs = 0;  // epoch being trained, 0-based
  int64_t batch = 0, n_batches = 0;   // training minibatches done in this epoch
  int64_t cells = 0, n_cells = 0;     // training cells done in this epoch, of n_cells
  double epoch_seconds = 0;           // since the epoch started
  bool epoch_done = false;
  const std::map<std::string, std::vector<double>>* history = nullptr;  // per finished epoch
};

struct TrainConfig {
  int64_t max_epochs = 0;       // 0: scvi's heuristic min(round(20000 / n * 400), 400)
  int64_t batch_size = 128;
  double train_size = 0;        // 0: scvi default 0.9 with the straggler rule
  // Non-empty: exactly these cells validate and every other cell trains (scvi-tools' external_indexing);
  // train_size and the seed's permutation are then not used for the split.
  std::vector<int32_t> validation_cells;
  bool early_stopping = false;
  int64_t early_stopping_patience = 45;
  double early_stopping_min_delta = 0;
  std::string early_stopping_monitor = "elbo_validation";
  // After early stopping, go back to the weights of the best monitored epoch. scvi-tools (Lightning's
  // EarlyStopping, checkpointing off) keeps the last epoch's weights; MULTIVI's defaults follow it.
  bool restore_best_weights = true;
  bool check_val_every_epoch = true;
  int64_t n_epochs_kl_warmup = 400;  // 0: none
  int64_t n_steps_kl_warmup = 0;     // used when n_epochs_kl_warmup is 0
  double min_kl_weight = 0, max_kl_weight = 1;
  AdamConfig optimizer = AdamConfig::scvi();
  uint64_t seed = 0;
  bool progress = true;  // shown only when stderr is a terminal
  // CUDA backend with resident data: capture each step (gather, forward, metric sums, backward, Adam) once
  // per minibatch size and mode, then replay it. false: every step runs op by op (same kernels, same order).
  bool cuda_graph = true;
  // Called after every training step and at the end of every epoch; returning false stops the run. An
  // epoch cut short is discarded: the weights and history of the last finished epoch are kept.
  std::function<bool(const TrainProgress&)> on_progress;
};

// How the steps of a run were executed.
struct StepGraphStats {
  int64_t captured = 0;     // step graphs captured: one per minibatch size and mode, again after invalidation
  int64_t replayed = 0;     // steps run by launching a graph (the step that captured it included)
  int64_t eager = 0;        // steps run op by op: warm-up, CPU backend, graphs off, streaming, discarded capture
  int64_t invalidated = 0;  // graphs dropped because the optimizer's segment table changed after their capture
  int64_t discarded = 0;    // captures thrown away: the parameters with gradients changed inside one
  size_t nodes = 0;         // operations (kernels, copies, memsets) of the largest captured training step
  std::string disabled_reason;  // non-empty: a capture failed with this error and the run went on op by op
};

struct DataSplit {
  std::vector<int32_t> train, validation, test;
};
// scvi's validate_data_split + permutation (seeded Philox instead of numpy's generator).
DataSplit split_data(int64_t n_cells, double train_size, int64_t batch_size, uint64_t seed);
// The split with the given validation cells (range-checked, no repeats); the rest train in ascending order.
DataSplit split_with_validation(int64_t n_cells, const std::vector<int32_t>& validation_cells);
int64_t default_max_epochs(int64_t n_cells);
double kl_weight_for(const TrainConfig& c, int64_t epoch, int64_t global_step);

struct TrainResult {
  std::map<std::string, std::vector<double>> history;  // per epoch, scvi-tools' key names
  int64_t epochs_run = 0;
  int64_t best_epoch = -1;  // early stopping: best monitored epoch (its weights restored if restored_best)
  bool restored_best = false;
  bool interrupted = false;  // on_progress stopped the run (the last finished epoch's weights are kept)
  double seconds = 0;
  DataSplit split;
  StepGraphStats graphs;
};

// One step captured from the CUDA backend's stream and instantiated: capture() records the work fn()
// issues without running it; launch() replays it on the same stream. Move-only.
class StepGraph {
 public:
  StepGraph() = default;
  ~StepGraph() { reset(); }
  StepGraph(StepGraph&& o) noexcept;
  StepGraph& operator=(StepGraph&& o) noexcept;
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // fn() must not synchronise, allocate or upload (the capture fails with the CUDA error naming the call).
  // Returns false, keeping nothing, when fn() returns false; an exception from fn() ends the capture too.
  template <class F>
  bool capture(Backend& backend, F&& fn) {
    reset();
    begin_capture(backend);
    bool keep = false;
    try {
      keep = fn();
    } catch (...) {
      end_capture(backend, false);
      throw;
    }
    return end_capture(backend, keep);
  }
  void launch(Backend& backend) const;
  bool valid() const { return m_exec != nullptr; }
  size_t n_nodes() const { return m_nodes; }  // kernels, copies and memsets one replay runs
  void reset();

 private:
  static void begin_capture(Backend& backend);
  bool end_capture(Backend& backend, bool keep);
  void* m_exec = nullptr;  // cudaGraphExec_t
  size_t m_nodes = 0;
};

class Trainer {
 public:
  Trainer(Backend& backend, TrainableModel& model, DeviceDataset& data, const TrainConfig& config);
  TrainResult fit();
  // Mean of each metric (and elbo) over `rows` in eval mode; used for validation.
  std::map<std::string, double> evaluate(const std::vector<int32_t>& rows, int64_t epoch);

 private:
  // Step graphs are keyed by mode and minibatch size.
  using GraphKey = std::pair<bool, int64_t>;  // (training, cells)
  struct CachedGraph {
    StepGraph graph;
    uint64_t table_version = 0;  // the optimizer's segment table the training step was captured with
  };

  // Returns false when on_progress stopped the run inside the epoch (its sums are then incomplete).
  bool run_epoch(const std::vector<int32_t>& rows, bool training, int64_t epoch, std::vector<double>& sums,
                 double& loss_sum, int64_t& steps);
  bool use_graphs() const;
  // Runs minibatch b's step: eagerly, by capturing it and launching the graph, or by replaying one.
  void run_step(int64_t b, bool training);
  // Records minibatch b's step on the tape (gather, forward, metric sums; in training backward and Adam),
  // which runs it unless the stream is capturing. Returns false, when capturing, if the optimizer's segment
  // table does not match the step's parameters with gradients (the capture must be discarded).
  bool record_step(int64_t b, bool training, bool capturing);
  void drop_graphs();

  Backend& m_backend;
  TrainableModel& m_model;
  DeviceDataset& m_data;
  TrainConfig m_config;
  Arena m_arena;
  DeviceBuffer m_acc;  // (4) f64 on the backend: the three metric sums, then the loss sum
  std::unique_ptr<OptimizerSet> m_optimizer;  // TrainConfig::optimizer and the model's extra groups
  std::unique_ptr<Tape> m_tape;  // one tape for the run: its seed gradient's address is part of the graphs
  std::string m_status;  // progress line prefix
  int64_t m_max_epochs = 0;
  int64_t m_global_step = 0;
  std::map<GraphKey, CachedGraph> m_graphs;
  std::set<GraphKey> m_warm;          // shapes that ran one eager step (cuBLAS and kernels initialised)
  std::map<GraphKey, int> m_discards;  // discarded captures per shape; after two the shape stays eager
  StepGraphStats m_graph_stats;
};

// Plans the activation arena for the largest minibatch: forward + backward in measuring mode.
size_t plan_step_bytes(Backend& backend, TrainableModel& model, DeviceDataset& data, int64_t batch_size,
                       bool training);

}  // namespace cuvi
