// RegularizedVI model files and opening a model on data.
#include "tools/workflow/regvi_file.h"

#include <algorithm>

#include "engine/error.h"
#include "tools/workflow/multiome_data.h"

namespace cuvi::workflow {

void save_regvi(const std::string& path, const models::RegviModel& model, const RegviKeys& keys,
                const DataRegistry& registry, const std::map<std::string, std::vector<double>>& history,
                const std::map<std::string, std::string>& info) {
  std::map<std::string, std::string> cfg = model.config().to_map();
  for (const auto& [k, v] : keys.to_map()) cfg[k] = v;
  save_model_file(path, kRegviKind, cfg, model.params(), registry, SampleTable{}, history, info);
}

RegviFile regvi_from(ModelFile m) {
  expect_kind(m, kRegviKind, "a RegularizedVI model");
  RegviFile f;
  f.config = models::RegviConfig::from_map(m.config);
  f.keys = RegviKeys::from_map(m.config);
  const int64_t n_features = int64_t(m.registry.genes.size() + m.registry.regions.size());
  CUVI_CHECK(n_features == f.config.total_features(),
             m.path + ": damaged model file: registry and configuration disagree on the number of features");
  f.file = std::move(m);
  return f;
}

RegviFile read_regvi(const std::string& path) { return regvi_from(read_model_file(path)); }

std::unique_ptr<models::RegviModel> load_regvi_model(const RegviFile& f, Backend& backend, uint64_t seed) {
  auto m = std::make_unique<models::RegviModel>(f.config);
  m->allocate(backend, seed);
  load_weights(f.file, m->params());
  return m;
}

PreparedData prepare_regvi_data(const std::string& path, const RegviKeys& keys, const std::string& layer,
                                const std::vector<std::string>& modality_names, const DataRegistry* model,
                                bool strict_counts, std::vector<int64_t>* col0) {
  SetupKeys sk = keys.setup_keys(layer);
  col0->clear();
  if (modality_names.size() <= 1) {
    PreparedData d = prepare_data(path, sk, model, strict_counts);
    col0->push_back(0);
    return d;
  }
  CUVI_CHECK(modality_names.size() == 2 &&
                 std::find(modality_names.begin(), modality_names.end(), "rna") != modality_names.end() &&
                 std::find(modality_names.begin(), modality_names.end(), "atac") != modality_names.end(),
             "RegularizedMultimodalVI: this version reads two modalities named rna and atac");
  sk.multiome.enabled = true;
  PreparedData d = prepare_multiome(path, sk, model, strict_counts);
  const int64_t n_genes = int64_t(d.registry.genes.size());
  for (const std::string& m : modality_names) col0->push_back(m == "rna" ? 0 : n_genes);
  return d;
}

RegviInference open_regvi(const std::string& model_path, const std::string& data_path, Backend& backend, uint64_t seed,
                          bool strict_counts) {
  RegviFile file = read_regvi(model_path);
  std::vector<std::string> names;
  for (const models::RegviModality& m : file.config.modalities) names.push_back(m.name);
  std::vector<int64_t> col0;
  PreparedData data = prepare_regvi_data(data_path, file.keys, file.file.registry.keys.layer, names,
                                         &file.file.registry, strict_counts, &col0);
  return open_regvi(std::move(file), std::move(data), std::move(col0), backend, seed);
}

RegviInference open_regvi(RegviFile file, PreparedData data, std::vector<int64_t> col0, Backend& backend,
                          uint64_t seed) {
  RegviInference r;
  r.file = std::move(file);
  r.data = std::move(data);
  r.col0 = std::move(col0);
  r.model = load_regvi_model(r.file, backend, seed);
  models::RegviConfig sized = r.file.config;
  const models::RegviCells cells = regvi_cells(r.data, r.file.keys, &sized);
  CUVI_CHECK(sized.n_cats_ambient == r.file.config.n_cats_ambient && sized.n_cats_nn == r.file.config.n_cats_nn &&
                 sized.n_dispersion_cats == r.file.config.n_dispersion_cats &&
                 sized.n_library_cats == r.file.config.n_library_cats,
             r.data.data.path + ": the covariates do not match the model's registry");
  r.model->set_column_offsets(r.col0);
  r.model->set_cells(cells);
  return r;
}

}  // namespace cuvi::workflow
