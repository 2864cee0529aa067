// SCVI inference over every cell of a file: latent representation and normalized expression
// (scvi-multivi.md §1.7), batched through the device loader, noise drawn per batch from the seed.
#pragma once
#include <memory>
#include <vector>

#include "models/scvi/scvi_model.h"
#include "tools/workflow/session.h"

namespace cuvi::workflow {


class ScviSession : public InferenceSession {
 public:
  ScviSession(Backend& backend, models::ScviModel& model, PreparedData& data, int64_t batch_size = 128,
              const LoaderOptions& loader = {});
  // (R, L): posterior mean of z (give_mean), or one sample; for latent_distribution "ln" the mean is
  // the average of softmax over mc_samples draws, as scvi-tools does.
  std::vector<float> latent(bool give_mean, uint64_t seed, int64_t mc_samples = 5000);
  // (R, G'): normalized expression (sampled z, averaged over samples and transform batches).
  std::vector<float> normalized_expression(const NormalizeOptions& opt, uint64_t seed);
  models::ScviModel& model() { return m_model; }

 private:
  models::ScviModel& m_model;
};

}  // namespace cuvi::workflow
