// RegularizedVI inference over every cell of a file (regularizedvi.md §9): the latent (concatenated
// per-modality posterior means, or one sample), get_normalized_expression (rho * library_size, or the
// full NB mean mu for library_size="latent"), and px_scale for the shared DE driver (single-modal).
#pragma once
#include "tools/workflow/de_driver.h"
#include "tools/workflow/regvi_file.h"
#include "tools/workflow/session.h"

namespace cuvi::workflow {

class RegviSession : public InferenceSession {
 public:
  RegviSession(Backend& backend, models::RegviModel& model, PreparedData& data, int64_t batch_size = 128,
               const LoaderOptions& loader = {}, size_t extra_bytes = 0);
  // (R, sum K): qz means (give_mean) or one posterior sample per cell.
  std::vector<float> latent(bool give_mean, uint64_t seed);
  // (R, genes) of modality `modality`: mean over n_samples posterior draws (z, library sampled; eval theta).
  std::vector<float> normalized_expression(const NormalizeOptions& opt, uint64_t seed, size_t modality = 0);
  // regularizedvi's get_per_feature_reconstruction_loss: per feature of modality `modality`, the mean over
  // cells that have the modality of -log p(x | z, l) (eval mode: theta = exp(m), z and library sampled).
  std::vector<double> per_feature_nll(size_t modality, uint64_t seed);
  // Per cell (eval mode, one z sample): recon (summed over modalities, masked) and kl_local = KL_z + KL_l.
  void fit_per_cell(uint64_t seed, std::vector<double>* recon, std::vector<double>* kl_local);
  models::RegviModel& model() { return m_model; }

 private:
  models::RegviModel& m_model;
};

// px_scale of the single-modal model from a sampled z (get_normalized_expression, library size 1).
class RegviScales : public ScaleModel {
 public:
  explicit RegviScales(RegviSession& s) : m_session(s) {}
  InferenceSession& session() override { return m_session; }
  int64_t n_features() const override { return m_session.model().config().modalities[0].n_features; }
  TensorId scale(Tape& tape, const MiniBatch& mb, int64_t transform_batch) override;

 private:
  RegviSession& m_session;
};

// scvi-tools' differential_expression on an AmbientRegularizedSCVI (transform_batch has no effect: the
// decoder is batch-free, so batch correction decodes each group once).
DeResult regvi_differential_expression(RegviInference& inf, RegviSession& session, const DeOptions& opt);

}  // namespace cuvi::workflow
