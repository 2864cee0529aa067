// SCVI model-file conversion to and from io::Checkpoint.
#include "tools/workflow/scvi_file.h"

#include "io/checkpoint.h"

namespace cuvi::workflow {
namespace {

constexpr const char* kKind = "cuvi.scvi";

std::vector<std::string> one(const std::string& s) { return {s}; }

}  // namespace

ScviFile scvi_file_of(const models::ScviModel& model, const DataRegistry& registry,
                      const std::map<std::string, std::vector<double>>& history,
                      const std::map<std::string, std::string>& info) {
  ScviFile f;
  f.config = model.config();
  f.registry = registry;
  f.history = history;
  f.info = info;
  const ParamStore& ps = model.params();
  for (size_t id = 0; id < ps.entries().size(); ++id) {
    const ParamEntry& e = ps.entry(int(id));
    io::CheckpointTensor t;
    for (int i = 0; i < e.shape.ndim; ++i) t.shape.push_back(e.shape.d[i]);
    t.values = ps.get(int(id));
    f.weights[e.name] = std::move(t);
  }
  return f;
}

void save_scvi(const std::string& path, const models::ScviModel& model, const DataRegistry& registry,
               const std::map<std::string, std::vector<double>>& history,
               const std::map<std::string, std::string>& info) {
  save_scvi(path, scvi_file_of(model, registry, history, info));
}

void save_scvi(const std::string& path, const ScviFile& f) {
  io::Checkpoint c;
  c.kind = kKind;
  c.config = f.config.to_map();
  for (const auto& [k, v] : f.info) c.config["info." + k] = v;
  c.tensors.insert(f.weights.begin(), f.weights.end());
  const DataRegistry& reg = f.registry;
  c.strings["genes"] = reg.genes;
  c.strings["batch_categories"] = reg.batch_categories;
  c.strings["label_categories"] = reg.label_categories;
  for (size_t k = 0; k < reg.covariate_categories.size(); ++k)
    c.strings["covariate_categories." + std::to_string(k)] = reg.covariate_categories[k];
  const SetupKeys& keys = reg.keys;
  c.strings["setup.layer"] = one(keys.layer);
  c.strings["setup.modality"] = one(keys.modality);
  c.strings["setup.genome"] = one(keys.genome);
  c.strings["setup.feature_type"] = one(keys.feature_type);
  c.strings["setup.batch_key"] = one(keys.batch_key);
  c.strings["setup.labels_key"] = one(keys.labels_key);
  c.strings["setup.categorical_covariate_keys"] = keys.categorical_covariate_keys;
  c.strings["setup.continuous_covariate_keys"] = keys.continuous_covariate_keys;
  c.history = f.history;
  io::write_checkpoint(path, c);
}

ScviFile read_scvi(const std::string& path) {
  const io::Checkpoint c = io::read_checkpoint(path);
  CUVI_CHECK(c.kind == kKind, path + ": a '" + c.kind + "' model file, not an SCVI model");
  ScviFile f;
  std::map<std::string, std::string> cfg;
  for (const auto& [k, v] : c.config) {
    if (k.rfind("info.", 0) == 0)
      f.info[k.substr(5)] = v;
    else
      cfg[k] = v;
  }
  f.config = models::ScviConfig::from_map(cfg);
  auto list = [&](const std::string& k) {
    auto it = c.strings.find(k);
    CUVI_CHECK(it != c.strings.end(), path + ": damaged model file: registry entry '" + k + "' is missing");
    return it->second;
  };
  auto scalar = [&](const std::string& k) {
    const auto v = list(k);
    return v.empty() ? std::string() : v[0];
  };
  DataRegistry& r = f.registry;
  r.genes = list("genes");
  r.batch_categories = list("batch_categories");
  r.label_categories = list("label_categories");
  r.keys.layer = scalar("setup.layer");
  r.keys.modality = scalar("setup.modality");
  r.keys.genome = scalar("setup.genome");
  r.keys.feature_type = scalar("setup.feature_type");
  r.keys.batch_key = scalar("setup.batch_key");
  r.keys.labels_key = scalar("setup.labels_key");
  r.keys.categorical_covariate_keys = list("setup.categorical_covariate_keys");
  r.keys.continuous_covariate_keys = list("setup.continuous_covariate_keys");
  for (size_t k = 0; k < r.keys.categorical_covariate_keys.size(); ++k)
    r.covariate_categories.push_back(list("covariate_categories." + std::to_string(k)));
  CUVI_CHECK(int64_t(r.genes.size()) == f.config.n_genes, path + ": damaged model file: gene list and configuration disagree");
  f.weights = c.tensors;
  f.history = c.history;
  return f;
}

std::unique_ptr<models::ScviModel> load_scvi_model(const ScviFile& f, Backend& backend, uint64_t seed) {
  auto m = std::make_unique<models::ScviModel>(f.config);
  m->allocate(backend, seed);
  ParamStore& ps = m->params();
  for (size_t id = 0; id < ps.entries().size(); ++id) {
    const ParamEntry& e = ps.entry(int(id));
    auto it = f.weights.find(e.name);
    CUVI_CHECK(it != f.weights.end(), "model file lacks parameter '" + e.name + "'");
    ps.set(int(id), it->second.values);
  }
  return m;
}

}  // namespace cuvi::workflow
