// SCVI model files: configuration map <-> ScviConfig over the shared model-file layer.
#include "tools/workflow/scvi_file.h"

namespace cuvi::workflow {

ScviFile scvi_file_of(const models::ScviModel& model, const DataRegistry& registry,
                      const std::map<std::string, std::vector<double>>& history,
                      const std::map<std::string, std::string>& info) {
  return scvi_from(model_file_of(kScviKind, model.config().to_map(), model.params(), registry, SampleTable{}, history, info));
}

void save_scvi(const std::string& path, const models::ScviModel& model, const DataRegistry& registry,
               const std::map<std::string, std::vector<double>>& history,
               const std::map<std::string, std::string>& info) {
  save_model_file(path, kScviKind, model.config().to_map(), model.params(), registry, SampleTable{}, history, info);
}

void save_scvi(const std::string& path, const ScviFile& f) {
  ModelFile m = f.file;  // the configuration, registry, history and facts as the caller holds them now
  m.kind = kScviKind;
  m.config = f.config.to_map();
  m.registry = f.registry;
  m.history = f.history;
  m.info = f.info;
  save_model_file(path, m);
}

ScviFile scvi_from(ModelFile m) {
  expect_kind(m, kScviKind, "an SCVI model");
  ScviFile f;
  f.config = models::ScviConfig::from_map(m.config);
  CUVI_CHECK(int64_t(m.registry.genes.size()) == f.config.n_genes,
             m.path + ": damaged model file: gene list and configuration disagree");
  f.registry = m.registry;
  f.history = m.history;
  f.info = m.info;
  f.file = std::move(m);
  return f;
}

ScviFile read_scvi(const std::string& path) { return scvi_from(read_model_file(path)); }

std::unique_ptr<models::ScviModel> load_scvi_model(const ScviFile& f, Backend& backend, uint64_t seed) {
  auto m = std::make_unique<models::ScviModel>(f.config);
  m->allocate(backend, seed);
  load_weights(f.file, m->params());
  return m;
}

}  // namespace cuvi::workflow
