// Differential expression with a trained SCVI model, scvi-tools' differential_expression
// (scvi-multivi.md §3): the shared driver (de_driver.h) with SCVI's scale function, px_scale from a
// posterior z sample, drawn as scvi's scale_sampler does, and raw-count statistics of the genes.
#pragma once
#include "tools/workflow/de_driver.h"
#include "tools/workflow/scvi_inference.h"

namespace cuvi::workflow {

// SCVI's px_scale with a sampled z (get_normalized_expression, library size 1).
class ScviScales : public ScaleModel {
 public:
  explicit ScviScales(ScviSession& s) : m_session(s) {}
  InferenceSession& session() override { return m_session; }
  int64_t n_features() const override { return m_session.model().config().n_genes; }
  TensorId scale(Tape& tape, const MiniBatch& mb, int64_t transform_batch) override;

 private:
  ScviSession& m_session;
};

DeResult differential_expression(ScviInference& inf, const DeOptions& opt);

}  // namespace cuvi::workflow
