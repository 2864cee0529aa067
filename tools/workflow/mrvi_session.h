// MRVI inference over every cell of a file (spec/mrvi.md §5 get_latent_representation): the model file
// and the data registered with the model's keys, samples and categories, in one session.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tools/workflow/mrvi_file.h"
#include "tools/workflow/session.h"

namespace cuvi::workflow {

class MrviSession : public InferenceSession {
 public:
  // extra_bytes: arena room for the analyses beyond the planned eval step.
  MrviSession(Backend& backend, models::MrviModel& model, PreparedData& data, int64_t batch_size = 128,
              const LoaderOptions& loader = {}, size_t extra_bytes = 0);
  // (R, Lu) u, or (R, L) z = z_base(u) + eps(u, own sample) with give_z; posterior means (use_mean) or
  // one draw per cell (u ~ q(u|x,s) and, without use_map, eps ~ q(eps|u,s)).
  std::vector<float> latent(bool give_z, bool use_mean, uint64_t seed);
  // (R, G'): normalized expression (spec §5 get_normalized_expression): u (and eps) drawn per sample,
  // decoded as each transform batch, averaged; "latent" library: the NB mean h * observed library.
  std::vector<float> normalized_expression(const NormalizeOptions& opt, uint64_t seed);
  models::MrviModel& model() { return m_model; }

 private:
  models::MrviModel& m_model;
};

struct MrviInference {
  MrviFile file;
  std::unique_ptr<models::MrviModel> model;
  PreparedData data;
  std::unique_ptr<MrviSession> session;
};

// Data keys come from the model's registry; genes, samples and categories must match the model's.
// counterfactual_rows > 0: the session's arena also holds counterfactual passes of that many rows.
MrviInference open_mrvi_inference(const std::string& model_path, const std::string& data_path, Backend& backend,
                                  uint64_t seed, int64_t batch_size, const LoaderOptions& loader = {},
                                  bool strict_counts = false, int64_t counterfactual_rows = 0);
// The same over a model file and data already registered with its registry (an AnnData in memory).
MrviInference open_mrvi_inference(MrviFile file, PreparedData data, Backend& backend, uint64_t seed,
                                  int64_t batch_size, const LoaderOptions& loader = {},
                                  int64_t counterfactual_rows = 0);

}  // namespace cuvi::workflow
