// Model-file conversion to and from io::Checkpoint: parameters by name, configuration attributes,
// registry string lists ("setup.*", categories, "samples.*") and history columns.
#include "tools/workflow/model_file.h"

#include <cstdio>

#include "io/checkpoint.h"

namespace cuvi::workflow {
namespace {

std::vector<std::string> one(const std::string& s) { return {s}; }

std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void put_samples(io::Checkpoint& c, const SampleTable& t) {
  if (t.samples.empty()) return;
  c.strings["samples.names"] = t.samples;
  std::vector<std::string> n;
  for (int64_t v : t.n_cells) n.push_back(std::to_string(v));
  c.strings["samples.n_cells"] = n;
  c.strings["samples.columns"] = {};
  for (size_t k = 0; k < t.columns.size(); ++k) {
    const SampleColumn& col = t.columns[k];
    const std::string p = "samples.column." + std::to_string(k) + ".";
    c.strings["samples.columns"].push_back(col.name);
    c.strings[p + "kind"] = one(col.numeric ? "numeric" : "categorical");
    c.strings[p + "text"] = col.text;
    c.strings[p + "categories"] = col.categories;
    std::vector<std::string> v;
    for (double x : col.values) v.push_back(exact(x));
    c.strings[p + "values"] = v;
  }
}

}  // namespace

ModelFile model_file_of(const std::string& kind, const std::map<std::string, std::string>& config,
                        const ParamStore& ps, const DataRegistry& registry, const SampleTable& samples,
                        const std::map<std::string, std::vector<double>>& history,
                        const std::map<std::string, std::string>& info) {
  ModelFile f;
  f.kind = kind;
  f.config = config;
  f.registry = registry;
  f.samples = samples;
  f.history = history;
  f.info = info;
  for (size_t id = 0; id < ps.entries().size(); ++id) {
    const ParamEntry& e = ps.entry(int(id));
    io::CheckpointTensor t;
    for (int i = 0; i < e.shape.ndim; ++i) t.shape.push_back(e.shape.d[i]);
    t.values = ps.get(int(id));
    f.weights[e.name] = std::move(t);
  }
  return f;
}

void save_model_file(const std::string& path, const std::string& kind, const std::map<std::string, std::string>& config,
                     const ParamStore& ps, const DataRegistry& reg, const SampleTable& samples,
                     const std::map<std::string, std::vector<double>>& history,
                     const std::map<std::string, std::string>& info) {
  save_model_file(path, model_file_of(kind, config, ps, reg, samples, history, info));
}

void save_model_file(const std::string& path, const ModelFile& f) {
  io::Checkpoint c;
  c.kind = f.kind;
  c.config = f.config;
  for (const auto& [k, v] : f.info) c.config["info." + k] = v;
  c.tensors.insert(f.weights.begin(), f.weights.end());
  const DataRegistry& reg = f.registry;
  c.strings["genes"] = reg.genes;
  if (!reg.regions.empty()) c.strings["regions"] = reg.regions;
  c.strings["batch_categories"] = reg.batch_categories;
  c.strings["label_categories"] = reg.label_categories;
  c.strings["sample_categories"] = reg.sample_categories;
  for (size_t k = 0; k < reg.covariate_categories.size(); ++k)
    c.strings["covariate_categories." + std::to_string(k)] = reg.covariate_categories[k];
  const SetupKeys& keys = reg.keys;
  c.strings["setup.layer"] = one(keys.layer);
  c.strings["setup.modality"] = one(keys.modality);
  c.strings["setup.genome"] = one(keys.genome);
  c.strings["setup.feature_type"] = one(keys.feature_type);
  c.strings["setup.batch_key"] = one(keys.batch_key);
  c.strings["setup.labels_key"] = one(keys.labels_key);
  c.strings["setup.sample_key"] = one(keys.sample_key);
  c.strings["setup.categorical_covariate_keys"] = keys.categorical_covariate_keys;
  c.strings["setup.continuous_covariate_keys"] = keys.continuous_covariate_keys;
  if (keys.multiome.enabled) {
    const MultiomeKeys& m = keys.multiome;
    c.strings["setup.multiome"] = {m.rna_modality, m.atac_modality, m.atac_layer, m.modality_key};
  }
  put_samples(c, f.samples);
  c.history = f.history;
  io::write_checkpoint(path, c);
}

ModelFile read_model_file(const std::string& path) {
  const io::Checkpoint c = io::read_checkpoint(path);
  ModelFile f;
  f.path = path;
  f.kind = c.kind;
  for (const auto& [k, v] : c.config) {
    if (k.rfind("info.", 0) == 0)
      f.info[k.substr(5)] = v;
    else
      f.config[k] = v;
  }
  auto list = [&](const std::string& k) {
    auto it = c.strings.find(k);
    CUVI_CHECK(it != c.strings.end(), path + ": damaged model file: registry entry '" + k + "' is missing");
    return it->second;
  };
  auto optional = [&](const std::string& k) {  // entries newer files carry
    auto it = c.strings.find(k);
    return it == c.strings.end() ? std::vector<std::string>() : it->second;
  };
  auto scalar = [](const std::vector<std::string>& v) { return v.empty() ? std::string() : v[0]; };
  DataRegistry& r = f.registry;
  r.genes = list("genes");
  r.regions = optional("regions");
  r.batch_categories = list("batch_categories");
  r.label_categories = list("label_categories");
  r.sample_categories = optional("sample_categories");
  r.keys.layer = scalar(list("setup.layer"));
  r.keys.modality = scalar(list("setup.modality"));
  r.keys.genome = scalar(list("setup.genome"));
  r.keys.feature_type = scalar(list("setup.feature_type"));
  r.keys.batch_key = scalar(list("setup.batch_key"));
  r.keys.labels_key = scalar(list("setup.labels_key"));
  r.keys.sample_key = scalar(optional("setup.sample_key"));
  r.keys.categorical_covariate_keys = list("setup.categorical_covariate_keys");
  r.keys.continuous_covariate_keys = list("setup.continuous_covariate_keys");
  const auto mk = optional("setup.multiome");
  if (!mk.empty()) {
    CUVI_CHECK(mk.size() == 4, path + ": damaged model file: setup.multiome has the wrong length");
    r.keys.multiome.enabled = true;
    r.keys.multiome.rna_modality = mk[0];
    r.keys.multiome.atac_modality = mk[1];
    r.keys.multiome.atac_layer = mk[2];
    r.keys.multiome.modality_key = mk[3];
  }
  for (size_t k = 0; k < r.keys.categorical_covariate_keys.size(); ++k)
    r.covariate_categories.push_back(list("covariate_categories." + std::to_string(k)));
  SampleTable& t = f.samples;
  t.samples = optional("samples.names");
  if (!t.samples.empty()) {
    const auto n = list("samples.n_cells");
    CUVI_CHECK(n.size() == t.samples.size(), path + ": damaged model file: samples.n_cells has the wrong length");
    for (const auto& s : n) t.n_cells.push_back(std::stoll(s));
    const auto cols = list("samples.columns");
    for (size_t k = 0; k < cols.size(); ++k) {
      const std::string p = "samples.column." + std::to_string(k) + ".";
      SampleColumn col;
      col.name = cols[k];
      col.numeric = scalar(list(p + "kind")) == "numeric";
      col.text = list(p + "text");
      col.categories = list(p + "categories");
      for (const auto& v : list(p + "values")) col.values.push_back(std::stod(v));
      CUVI_CHECK(col.text.size() == t.samples.size() && col.values.size() == t.samples.size(),
                 path + ": damaged model file: sample covariate '" + col.name + "' has the wrong length");
      t.columns.push_back(std::move(col));
    }
  }
  f.weights = c.tensors;
  f.history = c.history;
  return f;
}

void expect_kind(const ModelFile& f, const std::string& kind, const std::string& what) {
  CUVI_CHECK(f.kind == kind, f.path + ": a '" + f.kind + "' model file, not " + what);
}

void load_weights(const ModelFile& f, ParamStore& ps) {
  for (size_t id = 0; id < ps.entries().size(); ++id) {
    const ParamEntry& e = ps.entry(int(id));
    auto it = f.weights.find(e.name);
    CUVI_CHECK(it != f.weights.end(), f.path + ": model file lacks parameter '" + e.name + "'");
    const std::vector<float>& v = it->second.values;
    CUVI_CHECK(int64_t(v.size()) == e.shape.numel(),
               f.path + ": parameter '" + e.name + "' holds " + std::to_string(v.size()) + " values, the model needs " +
                   std::to_string(e.shape.numel()));
    ps.set(int(id), v);
  }
}

}  // namespace cuvi::workflow
