// MultiviModel: the MULTIVI module and scvi-tools' AdversarialTrainingPlan around it (scvi-multivi.md
// §2.5, §4.2), trainable by engine/trainer: the VAE loss plus the classifier's fooling loss for the
// VAE optimizer (AdamW), the classifier's own loss on the detached z for its Adam.
#pragma once
#include <string>
#include <vector>

#include "engine/trainer.h"
#include "models/layers/classifier.h"
#include "models/multivi/multivi_module.h"

namespace cuvi::models {

class MultiviModel : public TrainableModel {
 public:
  explicit MultiviModel(const MultiviConfig& config);  // config must be resolved
  // Declares, allocates and initialises the parameters on the backend (Philox, stream per name).
  void allocate(Backend& backend, uint64_t seed);
  ParamStore& params() override { return m_params; }
  const ParamStore& params() const { return m_params; }
  const MultiviModule& module() const { return m_module; }
  const MultiviConfig& config() const { return m_module.config(); }
  bool has_classifier() const { return m_module.config().adversarial_classifier(); }
  const Classifier& classifier() const { return m_classifier; }

  // The plan's weight decay, also the classifier optimizer's (scvi-tools passes it to both).
  void set_weight_decay(double wd) { m_weight_decay = wd; }

  // One training or validation step. Training: loss = VAE loss + kappa fool loss (what scvi-tools logs
  // and the VAE optimizer minimises); objective adds kappa times the classifier's true-class loss.
  StepTensors record(Tape& tape, const MiniBatch& batch, bool training) override;
  std::vector<std::string> metric_names() const override { return {"reconstruction_loss", "kl_local", ""}; }
  std::vector<ParamGroup> extra_optimizers() const override;

  struct StepParts {
    MultiviOutputs vae;
    TensorId fool_loss = kNoTensor, classifier_loss = kNoTensor;  // (1), unscaled
    TensorId loss = kNoTensor, objective = kNoTensor;
  };
  // The training step's tensors on a graph (noise may be injected: parity fixtures).
  StepParts step(Graph& g, const MultiviInputs& in, TensorId batch, const MultiviForwardOptions& fo = {}) const;

  // Tape inputs of a minibatch; transform_batch >= 0 replaces the batch seen by the decoders, and with
  // whole_cell also by the encoders (scvi-tools' get_normalized_expression rewrites the minibatch's batch
  // column; it matters with encode_covariates only; get_normalized_accessibility touches the decoders only).
  MultiviInputs inputs(Tape& tape, const MiniBatch& batch, int64_t transform_batch = -1, bool whole_cell = false) const;

 private:
  MultiviModule m_module;
  Classifier m_classifier;
  ParamStore m_params;
  double m_weight_decay = 1e-3;
};

// MULTIVI.train()'s defaults (§4.2): 500 epochs, batch 128, AdamW lr 1e-4 eps 1e-8 weight decay 1e-3,
// KL warm-up over 50 epochs, early stopping on reconstruction_loss_validation with patience 50 (the last
// epoch's weights are kept, as scvi-tools does).
TrainConfig multivi_train_config();

}  // namespace cuvi::models
