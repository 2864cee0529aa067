// MRVI model construction from registered data and its training run.
#include "tools/workflow/mrvi_train.h"

#include "tools/workflow/train_run.h"

namespace cuvi::workflow {

std::unique_ptr<models::MrviModel> new_mrvi_model(PreparedData& data, models::MrviConfig c, Backend& backend,
                                                  uint64_t seed) {
  CUVI_CHECK(!data.sample.empty(), "MRVI needs a sample key (--sample-key)");
  c.n_genes = data.counts().n_cols;
  c.n_sample = int64_t(data.registry.sample_categories.size());
  c.n_batch = int64_t(data.registry.batch_categories.size());
  c.n_labels = int64_t(data.registry.label_categories.size());
  c.validate();
  auto m = std::make_unique<models::MrviModel>(c);
  m->allocate(backend, seed);
  encode_sample_codes(data);
  std::vector<float> n_obs;
  for (int64_t n : cells_per_sample(data)) n_obs.push_back(float(std::max<int64_t>(n, 1)));
  m->set_n_obs_per_sample(n_obs);
  return m;
}

TrainResult train_mrvi(models::MrviModel& model, PreparedData& data, Backend& backend, const TrainConfig& config,
                       const LoaderOptions& loader) {
  return train_on_data(model, data, backend, config, loader);
}

}  // namespace cuvi::workflow
