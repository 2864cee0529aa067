// MULTIVI model construction from registered data and its training run.
#include "tools/workflow/multivi_train.h"

#include "tools/workflow/train_run.h"

namespace cuvi::workflow {

std::unique_ptr<models::MultiviModel> new_multivi_model(PreparedData& data, models::MultiviConfig c, Backend& backend,
                                                        uint64_t seed) {
  c.n_genes = int64_t(data.registry.genes.size());
  c.n_regions = int64_t(data.registry.regions.size());
  CUVI_CHECK(c.n_genes + c.n_regions == data.data.counts.n_cols,
             "MULTIVI data: genes and regions do not add up to the matrix's columns");
  c.n_batch = int64_t(data.registry.batch_categories.size());
  c.n_cats_per_cov.clear();
  for (const auto& cats : data.registry.covariate_categories) c.n_cats_per_cov.push_back(int64_t(cats.size()));
  c.n_continuous_cov = int64_t(data.registry.keys.continuous_covariate_keys.size());
  c.n_obs = data.data.counts.n_rows;
  c.resolve();
  auto m = std::make_unique<models::MultiviModel>(c);
  m->allocate(backend, seed);
  encode_codes(data, m->module().layout());
  return m;
}

TrainResult train_multivi(models::MultiviModel& model, PreparedData& data, Backend& backend, const TrainConfig& config,
                          const LoaderOptions& loader) {
  model.set_weight_decay(config.optimizer.weight_decay);
  return train_on_data(model, data, backend, config, loader);
}

}  // namespace cuvi::workflow
