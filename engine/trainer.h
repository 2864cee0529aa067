// Trainer with scvi-tools' defaults (scvi-multivi.md §4.1): data split and its straggler rule, the
// max-epochs heuristic, KL warm-up, Adam, validation ELBO, early stopping with restore of the best
// weights, per-epoch history, a progress bar on a terminal, deterministic for a seed and device.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/loader.h"
#include "engine/optimizer.h"
#include "engine/tape.h"

namespace cuvi {

// What one minibatch contributes: the loss to minimise and per-cell metric vectors (N) to report.
struct StepTensors {
  TensorId loss = kNoTensor;
  TensorId metrics[3] = {kNoTensor, kNoTensor, kNoTensor};  // e.g. reconstruction_loss, kl_local, kl_global
};

// A model as the trainer sees it: parameters and a forward pass recorded on the tape.
class TrainableModel {
 public:
  virtual ~TrainableModel() = default;
  virtual ParamStore& params() = 0;
  virtual StepTensors record(Tape& tape, const MiniBatch& batch, bool training) = 0;
  // Names of the metrics returned in StepTensors::metrics (empty string = unused).
  virtual std::vector<std::string> metric_names() const = 0;
};

struct TrainConfig {
  int64_t max_epochs = 0;       // 0: scvi's heuristic min(round(20000 / n * 400), 400)
  int64_t batch_size = 128;
  double train_size = 0;        // 0: scvi default 0.9 with the straggler rule
  bool early_stopping = false;
  int64_t early_stopping_patience = 45;
  double early_stopping_min_delta = 0;
  std::string early_stopping_monitor = "elbo_validation";
  bool check_val_every_epoch = true;
  int64_t n_epochs_kl_warmup = 400;  // 0: none
  int64_t n_steps_kl_warmup = 0;     // used when n_epochs_kl_warmup is 0
  double min_kl_weight = 0, max_kl_weight = 1;
  AdamConfig optimizer = AdamConfig::scvi();
  uint64_t seed = 0;
  bool progress = true;  // shown only when stderr is a terminal
};

struct DataSplit {
  std::vector<int32_t> train, validation, test;
};
// scvi's validate_data_split + permutation (seeded Philox instead of numpy's generator).
DataSplit split_data(int64_t n_cells, double train_size, int64_t batch_size, uint64_t seed);
int64_t default_max_epochs(int64_t n_cells);
double kl_weight_for(const TrainConfig& c, int64_t epoch, int64_t global_step);

struct TrainResult {
  std::map<std::string, std::vector<double>> history;  // per epoch, scvi-tools' key names
  int64_t epochs_run = 0;
  int64_t best_epoch = -1;  // early stopping: epoch whose weights were restored
  double seconds = 0;
  DataSplit split;
};

class Trainer {
 public:
  Trainer(Backend& backend, TrainableModel& model, DeviceDataset& data, const TrainConfig& config);
  TrainResult fit();
  // Mean of each metric (and elbo) over `rows` in eval mode; used for validation.
  std::map<std::string, double> evaluate(const std::vector<int32_t>& rows, int64_t epoch);

 private:
  void run_epoch(const std::vector<int32_t>& rows, bool training, int64_t epoch, std::vector<double>& sums,
                 double& loss_sum, int64_t& steps);
  Backend& m_backend;
  TrainableModel& m_model;
  DeviceDataset& m_data;
  TrainConfig m_config;
  Arena m_arena;
  DeviceBuffer m_acc;  // (8) metric and loss accumulators on the backend
  std::unique_ptr<Adam> m_optimizer;
  std::string m_status;  // progress line prefix
  int64_t m_global_step = 0;
};

// Plans the activation arena for the largest minibatch: forward + backward in measuring mode.
size_t plan_step_bytes(Backend& backend, TrainableModel& model, DeviceDataset& data, int64_t batch_size,
                       bool training);

}  // namespace cuvi
