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
  // (F) mean over all cells of rho (px_scale) of modality `modality` (eval mode, z and library sampled).
  std::vector<double> mean_px_scale(size_t modality, uint64_t seed);
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

// regularizedvi's get_covariate_effects as tables: per modality, the decoder layer-0 Frobenius norms of the
// z (+ continuous) columns and of the covariate columns (printed summary rows), and per feature the mean
// rho, exp(m) per dispersion group, softplus(gamma)/0.7 per scaling row and exp(beta) per ambient category,
// the columns named by the registry's category names.
struct RegviDecoderNorms {
  std::string modality;
  double z_norm = 0, cov_norm = 0, cov_fraction = 0;
  int64_t n_z_dims = 0, n_cov_dims = 0;
};
std::vector<RegviDecoderNorms> regvi_decoder_norms(const models::RegviModel& model);
ResultTable regvi_covariate_effects(RegviInference& inf, RegviSession& session, uint64_t seed);

// scvi-tools' differential_expression on an AmbientRegularizedSCVI (transform_batch has no effect: the
// decoder is batch-free, so batch correction decodes each group once).
DeResult regvi_differential_expression(RegviInference& inf, RegviSession& session, const DeOptions& opt);

}  // namespace cuvi::workflow
