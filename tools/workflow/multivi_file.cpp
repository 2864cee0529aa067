// MULTIVI model files: configuration map <-> MultiviConfig, checked against the stored registry.
#include "tools/workflow/multivi_file.h"

namespace cuvi::workflow {

void save_multivi(const std::string& path, const models::MultiviModel& model, const DataRegistry& registry,
                  const std::map<std::string, std::vector<double>>& history,
                  const std::map<std::string, std::string>& info) {
  save_model_file(path, kMultiviKind, model.config().to_map(), model.params(), registry, SampleTable{}, history, info);
}

MultiviFile multivi_from(ModelFile m) {
  expect_kind(m, kMultiviKind, "a MULTIVI model");
  MultiviFile f;
  f.config = models::MultiviConfig::from_map(m.config);
  const DataRegistry& r = m.registry;
  CUVI_CHECK(int64_t(r.genes.size()) == f.config.n_genes && int64_t(r.regions.size()) == f.config.n_regions &&
                 int64_t(r.batch_categories.size()) == f.config.n_batch && r.keys.multiome.enabled,
             m.path + ": damaged model file: registry and configuration disagree");
  f.file = std::move(m);
  return f;
}

MultiviFile read_multivi(const std::string& path) { return multivi_from(read_model_file(path)); }

std::unique_ptr<models::MultiviModel> load_multivi_model(const MultiviFile& f, Backend& backend, uint64_t seed) {
  auto m = std::make_unique<models::MultiviModel>(f.config);
  m->allocate(backend, seed);
  load_weights(f.file, m->params());
  return m;
}

}  // namespace cuvi::workflow
