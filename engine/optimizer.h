// Adam with coupled L2 and AdamW over the flat parameter buffer: one fused launch per step,
// optional global gradient-norm clipping; scvi-tools' presets (scvi-multivi.md §0, §4; mrvi.md §4).
#pragma once
#include <vector>

#include "engine/backend.h"
#include "engine/params.h"

namespace cuvi {

struct AdamConfig {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled = false;  // AdamW
  double clip_norm = 0;    // > 0: scale gradients so their global L2 norm is at most this
  // The optimizer keeps `lr` in its own memory instead of reading the step scalars' learning rate:
  // a second optimizer of one step (scvi-tools' adversarial classifier) with a learning rate of its own.
  bool fixed_lr = false;

  static AdamConfig scvi() { return {1e-3, 0.9, 0.999, 0.01, 1e-6, false, 0}; }
  static AdamConfig multivi() { return {1e-4, 0.9, 0.999, 1e-8, 1e-3, true, 0}; }
  static AdamConfig mrvi() { return {2e-3, 0.9, 0.999, 1e-8, 1e-8, false, 40}; }
  // AdversarialTrainingPlan's classifier optimizer: Adam lr 1e-3, eps 0.01, the plan's weight decay
  // (coupled L2), scvi-multivi.md §2.5.
  static AdamConfig adversarial_classifier(double weight_decay) {
    return {1e-3, 0.9, 0.999, 0.01, weight_decay, false, 0, true};
  }
};

class Adam {
 public:
  Adam(Backend& backend, ParamStore& params, const AdamConfig& config);
  // Parameters that received a gradient this step (Tape::params_with_grad). torch skips the others
  // entirely: no decay, no moment update. Uploads a new segment table (into one buffer allocated with
  // the optimizer) only when the set changes, which it refuses to do inside a CUDA stream capture.
  void set_used(const std::vector<int>& params_with_grad);
  // Whether set_used(params_with_grad) would keep the current segment table (no upload).
  bool uses(const std::vector<int>& params_with_grad) const {
    return params_with_grad == m_used && !m_segments.empty();
  }
  // Changes whenever the segment table does: a captured step() replays the table it was captured with.
  uint64_t table_version() const { return m_table_version; }
  // Clip (if configured), update every used parameter, advance the device step counter unless
  // advance_step is false (several optimizers of one training step share the counter: all but the last
  // leave it). The learning rate is read from the backend's step scalars (set with set_lr outside a
  // step), or from the optimizer's own memory with fixed_lr.
  void step(bool advance_step = true);
  void set_lr(double lr);
  const AdamConfig& config() const { return m_config; }

 private:
  Backend& m_backend;
  ParamStore& m_params;
  AdamConfig m_config;
  std::vector<int> m_used;
  std::vector<int64_t> m_segments;  // host copy, (S, 2)
  int64_t m_max_segment = 0;
  uint64_t m_table_version = 0;
  DeviceBuffer m_segments_dev;  // (2 * trainable entries) on CUDA: room for any segment table
  DeviceBuffer m_lr_dev;        // (1) double on CUDA with fixed_lr
  DeviceBuffer m_ticket_dev;    // (1) u32 on CUDA, 0 between steps: the Adam launch's finished-block count
};

}  // namespace cuvi
