// MRVI model files: configuration map <-> MrviConfig, checked against the stored registry.
#include "tools/workflow/mrvi_file.h"

namespace cuvi::workflow {

void save_mrvi(const std::string& path, const models::MrviModel& model, const DataRegistry& registry,
               const SampleTable& samples, const std::map<std::string, std::vector<double>>& history,
               const std::map<std::string, std::string>& info) {
  save_model_file(path, kMrviKind, model.config().to_map(), model.params(), registry, samples, history, info);
}

MrviFile mrvi_from(ModelFile m) {
  expect_kind(m, kMrviKind, "an MRVI model");
  MrviFile f;
  f.config = models::MrviConfig::from_map(m.config);
  const DataRegistry& r = m.registry;
  CUVI_CHECK(int64_t(r.genes.size()) == f.config.n_genes && int64_t(r.sample_categories.size()) == f.config.n_sample &&
                 int64_t(r.batch_categories.size()) == f.config.n_batch &&
                 int64_t(r.label_categories.size()) == f.config.n_labels,
             m.path + ": damaged model file: registry and configuration disagree");
  f.file = std::move(m);
  return f;
}

MrviFile read_mrvi(const std::string& path) { return mrvi_from(read_model_file(path)); }

std::unique_ptr<models::MrviModel> load_mrvi_model(const MrviFile& f, Backend& backend, uint64_t seed) {
  auto m = std::make_unique<models::MrviModel>(f.config);
  m->allocate(backend, seed);
  load_weights(f.file, m->params());
  m->refresh_constants();
  return m;
}

}  // namespace cuvi::workflow
