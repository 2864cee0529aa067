// MrviModel: an MRVI module with its parameters, trainable by engine/trainer (spec/mrvi.md §3-4).
// The loader's first code column carries each cell's sample index; batch and labels come as usual.
#pragma once
#include <string>
#include <vector>

#include "engine/trainer.h"
#include "models/mrvi/mrvi_module.h"

namespace cuvi::models {

class MrviModel : public TrainableModel {
 public:
  explicit MrviModel(const MrviConfig& config);
  // Declares, allocates and initialises the parameters on the backend (Philox, stream per name) and
  // uploads the module's constants.
  void allocate(Backend& backend, uint64_t seed);
  ParamStore& params() override { return m_params; }
  const ParamStore& params() const { return m_params; }
  const MrviModule& module() const { return m_module; }
  const MrviConfig& config() const { return m_module.config(); }

  StepTensors record(Tape& tape, const MiniBatch& batch, bool training) override;
  std::vector<std::string> metric_names() const override { return {"reconstruction_loss", "kl_local", ""}; }

  // Tape inputs of a minibatch (sample from code column 0).
  MrviInputs inputs(Tape& tape, const MiniBatch& batch) const;
  // Cells per sample of the training data (scale_observations); (S) positive counts.
  void set_n_obs_per_sample(const std::vector<float>& n_obs);
  // After parameters or buffers were overwritten (model files, fixtures): re-derive the constants.
  void refresh_constants();

 private:
  MrviModule m_module;
  ParamStore m_params;
  Backend* m_backend = nullptr;
};

// MRVI's training defaults (spec §4): batch 128, Adam lr 2e-3 eps 1e-8 coupled L2 1e-8, global-norm
// clipping 40, KL warm-up over 20 epochs, early stopping (when enabled) with patience 15.
TrainConfig mrvi_train_config();

}  // namespace cuvi::models
