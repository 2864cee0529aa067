// SCVI / LinearSCVI training on registered data: configuration, model, library prior, loader, trainer.
#include "tools/workflow/scvi_train.h"

#include "engine/error.h"

namespace cuvi::workflow {

models::ScviConfig scvi_defaults(const std::string& kind) {
  CUVI_CHECK(kind == "scvi" || kind == "linear-scvi",
             "unknown model '" + kind + "' (this version trains: scvi, linear-scvi)");
  return kind == "linear-scvi" ? models::ScviConfig::linear_scvi() : models::ScviConfig();
}

models::ScviConfig scvi_config_for(const std::string& kind, const PreparedData& data) {
  models::ScviConfig cfg = scvi_defaults(kind);
  cfg.n_genes = data.counts().n_cols;
  cfg.n_batch = int64_t(data.registry.batch_categories.size());
  cfg.n_labels = int64_t(data.registry.label_categories.size());
  for (const auto& c : data.registry.covariate_categories) cfg.n_cats_per_cov.push_back(int64_t(c.size()));
  cfg.n_continuous_cov = int64_t(data.registry.keys.continuous_covariate_keys.size());
  return cfg;
}

ScviTraining train_scvi(Backend& backend, const models::ScviConfig& cfg, PreparedData& data, const TrainConfig& tc,
                        const LoaderOptions& loader, const std::function<void(const DeviceDataset&)>& on_data) {
  ScviTraining t;
  t.model = std::make_unique<models::ScviModel>(cfg);
  t.model->allocate(backend, tc.seed);
  encode_codes(data, t.model->module().layout());
  t.model->set_library_prior_from_counts(data.totals, data.cells.batch);
  DeviceDataset dataset(backend, data.counts(), data.cells, loader);
  if (on_data) on_data(dataset);
  Trainer trainer(backend, *t.model, dataset, tc);
  t.result = trainer.fit();
  return t;
}

std::map<std::string, std::string> training_facts(const Backend& backend, const TrainConfig& tc, const TrainResult& r,
                                                  const std::string& data_source) {
  std::map<std::string, std::string> facts = {
      {"device", backend.describe()},
      {"seed", std::to_string(tc.seed)},
      {"epochs", std::to_string(r.epochs_run)},
      {"seconds", std::to_string(r.seconds)},
      {"n_train", std::to_string(r.split.train.size())},
      {"n_validation", std::to_string(r.split.validation.size())},
      {"data", data_source},
      {"batch_size", std::to_string(tc.batch_size)}};
  if (r.best_epoch >= 0) facts["best_epoch"] = std::to_string(r.best_epoch + 1);
  return facts;
}

}  // namespace cuvi::workflow
