// ScviModel: an SCVI module with its parameters, trainable by engine/trainer and queried for the
// outputs users take from scvi-tools (latent, normalized expression; scvi-multivi.md §1.7).
#pragma once
#include <string>
#include <vector>

#include "engine/trainer.h"
#include "models/scvi/scvi_module.h"

namespace cuvi::models {

class ScviModel : public TrainableModel {
 public:
  explicit ScviModel(const ScviConfig& config);
  // Declares, allocates and initialises the parameters on the backend (Philox, stream per name).
  void allocate(Backend& backend, uint64_t seed);
  ParamStore& params() override { return m_params; }
  const ParamStore& params() const { return m_params; }
  const ScviModule& module() const { return m_module; }
  const ScviConfig& config() const { return m_module.config(); }

  StepTensors record(Tape& tape, const MiniBatch& batch, bool training) override;
  std::vector<std::string> metric_names() const override { return {"reconstruction_loss", "kl_local", ""}; }

  // Tape inputs of a minibatch; transform_batch >= 0 replaces the batch seen by the decoder.
  ScviInputs inputs(Tape& tape, const MiniBatch& batch, int64_t transform_batch = -1) const;
  // Per-batch prior of the log library (§1.6), from per-cell totals and batch codes.
  void set_library_prior_from_counts(const std::vector<double>& totals, const std::vector<int32_t>& batch);

 private:
  ScviModule m_module;
  ParamStore m_params;
};

// Library-size prior (§1.6): per batch, mean and population variance of ln(total) over cells with a
// non-zero total (zero totals contribute 0); absent batches get mean 0, variance 1.
void library_prior(const std::vector<double>& totals, const std::vector<int32_t>& batch, int64_t n_batch,
                   std::vector<float>* means, std::vector<float>* vars);

}  // namespace cuvi::models
