// MULTIVI inference over every cell of a file (scvi-multivi.md §2.7): joint and per-modality latents,
// normalized expression (imputed for ATAC-only cells), accessibility estimates (imputed for RNA-only
// cells), library size factors; the model file and the data registered with its keys in one session.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tools/workflow/multivi_file.h"
#include "tools/workflow/session.h"

namespace cuvi::workflow {

struct MultiviExpressionOptions {
  std::vector<int64_t> transform_batches;  // decoder batches averaged over; empty = the observed batch
  bool use_z_mean = true;                  // decode from qz_m (scvi-tools' default) or a z sample
  std::vector<int64_t> genes;              // gene indices to return; empty = all
};

struct AccessibilityOptions {
  int64_t transform_batch = -1;   // decoder batch; -1 = the observed batch
  bool use_z_mean = true;
  bool normalize_cells = false;   // times the cell factor d
  bool normalize_regions = false;  // times sigmoid(region factors)
  std::vector<int64_t> regions;   // region indices to return; empty = all
};

class MultiviSession : public InferenceSession {
 public:
  MultiviSession(Backend& backend, models::MultiviModel& model, PreparedData& data, int64_t batch_size = 128,
                 const LoaderOptions& loader = {}, size_t extra_bytes = 0);
  // (R, L): modality "joint" (qz_m), "expression" or "accessibility" (that modality's posterior);
  // give_mean false: one posterior sample (joint: the transformed z).
  std::vector<float> latent(const std::string& modality, bool give_mean, uint64_t seed);
  // (rows, G'): px_scale, averaged over the transform batches. rows: dataset rows (empty = all cells).
  std::vector<float> normalized_expression(const MultiviExpressionOptions& opt, uint64_t seed,
                                           const std::vector<int32_t>& rows = {});
  // (rows, R'): the accessibility decoder's p (times d and/or sigmoid(f) when asked).
  std::vector<float> accessibility(const AccessibilityOptions& opt, uint64_t seed, const std::vector<int32_t>& rows = {});
  // (R) each: the expression log-library point estimate and the accessibility cell factor d.
  void library_size_factors(std::vector<float>* expression, std::vector<float>* accessibility);
  // (n_regions): sigmoid(region factors); fails when the model has none.
  std::vector<float> region_factors() const;
  models::MultiviModel& model() { return m_model; }

 private:
  std::vector<int32_t> rows_or_all(const std::vector<int32_t>& rows) const;
  models::MultiviModel& m_model;
};

struct MultiviInference {
  MultiviFile file;
  std::unique_ptr<models::MultiviModel> model;
  PreparedData data;
  std::unique_ptr<MultiviSession> session;
};

// Data keys come from the model's registry (extra RNA-only / ATAC-only files from `sources`); genes,
// regions and categories must match the model's.
MultiviInference open_multivi_inference(const std::string& model_path, const std::string& data_path,
                                        const MultiomeKeys& sources, Backend& backend, uint64_t seed,
                                        int64_t batch_size, const LoaderOptions& loader = {},
                                        bool strict_counts = false, size_t extra_bytes = 0);

}  // namespace cuvi::workflow
