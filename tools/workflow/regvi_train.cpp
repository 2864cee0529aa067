// RegularizedVI registration, model construction with data-driven init, and training.
#include "tools/workflow/regvi_train.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "models/regularized_vi/regvi_init.h"

namespace cuvi::workflow {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
  return s;
}
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  size_t a = 0;
  while (a <= s.size() && !s.empty()) {
    const size_t b = s.find(',', a);
    v.push_back(s.substr(a, b == std::string::npos ? std::string::npos : b - a));
    if (b == std::string::npos) break;
    a = b + 1;
  }
  return v;
}

}  // namespace

RegviKeys RegviKeys::resolved() const {
  RegviKeys k = *this;
  if (resolved_keys) return k;
  if (!batch_key.empty()) {
    CUVI_CHECK(ambient_covariate_keys.empty() && dispersion_key.empty() && library_size_key.empty(),
               "batch_key cannot be combined with ambient_covariate_keys, dispersion_key, or library_size_key; "
               "either use batch_key alone or specify the purpose-specific keys");
    k.ambient_covariate_keys = {batch_key};
    k.dispersion_key = batch_key;
    k.library_size_key = batch_key;
  }
  if (!feature_scaling_set) k.feature_scaling_covariate_keys = nn_conditioning_covariate_keys;
  k.feature_scaling_set = true;
  k.resolved_keys = true;
  return k;
}

SetupKeys RegviKeys::setup_keys(const std::string& layer) const {
  const RegviKeys k = resolved();
  SetupKeys s;
  s.layer = layer;
  s.batch_key = k.batch_key;
  auto add = [&](const std::string& c) {
    if (!c.empty() && std::find(s.categorical_covariate_keys.begin(), s.categorical_covariate_keys.end(), c) ==
                          s.categorical_covariate_keys.end())
      s.categorical_covariate_keys.push_back(c);
  };
  for (const auto* v : {&k.ambient_covariate_keys, &k.nn_conditioning_covariate_keys, &k.feature_scaling_covariate_keys,
                        &k.encoder_covariate_keys})
    for (const std::string& c : *v) add(c);
  add(k.dispersion_key);
  add(k.library_size_key);
  s.continuous_covariate_keys = k.continuous_covariate_keys;
  return s;
}

std::map<std::string, std::string> RegviKeys::to_map() const {
  const RegviKeys k = resolved();
  return {{"setup.batch_key", k.batch_key},
          {"setup.size_factor_key", k.size_factor_key},
          {"setup.dispersion_key", k.dispersion_key},
          {"setup.library_size_key", k.library_size_key},
          {"setup.ambient_covariate_keys", join(k.ambient_covariate_keys)},
          {"setup.nn_conditioning_covariate_keys", join(k.nn_conditioning_covariate_keys)},
          {"setup.continuous_covariate_keys", join(k.continuous_covariate_keys)},
          {"setup.feature_scaling_covariate_keys", join(k.feature_scaling_covariate_keys)},
          {"setup.encoder_covariate_keys", join(k.encoder_covariate_keys)}};
}

RegviKeys RegviKeys::from_map(const std::map<std::string, std::string>& m) {
  auto get = [&](const std::string& k) {
    auto it = m.find("setup." + k);
    CUVI_CHECK(it != m.end(), "RegularizedVI model file lacks setup key '" + k + "'");
    return it->second;
  };
  RegviKeys k;
  k.size_factor_key = get("size_factor_key");
  k.dispersion_key = get("dispersion_key");
  k.library_size_key = get("library_size_key");
  k.ambient_covariate_keys = split(get("ambient_covariate_keys"));
  k.nn_conditioning_covariate_keys = split(get("nn_conditioning_covariate_keys"));
  k.continuous_covariate_keys = split(get("continuous_covariate_keys"));
  k.feature_scaling_covariate_keys = split(get("feature_scaling_covariate_keys"));
  k.encoder_covariate_keys = split(get("encoder_covariate_keys"));
  k.batch_key = get("batch_key");  // registered as the batch; its fan-out is in the stored purpose keys
  k.feature_scaling_set = true;
  k.resolved_keys = true;
  return k;
}

models::RegviCells regvi_cells(const PreparedData& data, const RegviKeys& keys_in, models::RegviConfig* cfg) {
  const RegviKeys k = keys_in.resolved();
  const SetupKeys& reg = data.registry.keys;
  const int64_t R = data.counts().n_rows;
  const int64_t n_keys = int64_t(reg.categorical_covariate_keys.size());
  auto index_of = [&](const std::string& c) {
    const auto it = std::find(reg.categorical_covariate_keys.begin(), reg.categorical_covariate_keys.end(), c);
    CUVI_CHECK(it != reg.categorical_covariate_keys.end(), "covariate '" + c + "' was not registered");
    return int64_t(it - reg.categorical_covariate_keys.begin());
  };
  auto n_cats = [&](int64_t j) { return int64_t(data.registry.covariate_categories.at(j).size()); };
  auto fill = [&](const std::vector<std::string>& cols, std::vector<int32_t>* codes, std::vector<int64_t>* sizes) {
    sizes->clear();
    codes->assign(size_t(R * cols.size()), 0);
    for (size_t c = 0; c < cols.size(); ++c) {
      const int64_t j = index_of(cols[c]);
      sizes->push_back(n_cats(j));
      for (int64_t n = 0; n < R; ++n) (*codes)[n * cols.size() + c] = data.cat_covs[n * n_keys + j];
    }
  };
  models::RegviCells cells;
  cells.n_cells = R;
  fill(k.nn_conditioning_covariate_keys, &cells.nn, &cfg->n_cats_nn);
  fill(k.encoder_covariate_keys, &cells.encoder, &cfg->n_cats_encoder);
  fill(k.feature_scaling_covariate_keys, &cells.scaling, &cfg->n_cats_scaling);
  // No ambient / dispersion / library key: one group (a data set without a batch column).
  std::vector<std::string> amb = k.ambient_covariate_keys;
  if (amb.empty()) {
    cells.ambient.assign(size_t(R), 0);
    cfg->n_cats_ambient = {1};
  } else {
    fill(amb, &cells.ambient, &cfg->n_cats_ambient);
  }
  auto group = [&](const std::string& col, std::vector<int32_t>* codes, int64_t* n) {
    codes->assign(size_t(R), 0);
    *n = 1;
    if (col.empty()) return;
    const int64_t j = index_of(col);
    *n = n_cats(j);
    for (int64_t r = 0; r < R; ++r) (*codes)[r] = data.cat_covs[r * n_keys + j];
  };
  group(k.dispersion_key, &cells.dispersion, &cfg->n_dispersion_cats);
  group(k.library_size_key, &cells.library, &cfg->n_library_cats);
  cfg->n_continuous_cov = int64_t(k.continuous_covariate_keys.size());
  cfg->use_size_factor = !k.size_factor_key.empty();
  if (cfg->use_size_factor) {
    const io::Column& c = data.data.obs.require(k.size_factor_key, data.data.path, "obs");
    CUVI_CHECK(c.kind == io::ColumnKind::Numeric,
               data.data.path + ": size_factor_key '" + k.size_factor_key + "' must be a numeric obs column");
    for (int64_t r = 0; r < R; ++r) {
      const double v = c.numeric.at(r);
      CUVI_CHECK(std::isfinite(v) && v > 0, data.data.path + ": size factor of cell " + std::to_string(r) + " in '" +
                                                k.size_factor_key + "' is " + std::to_string(v) + " (must be > 0)");
      cells.size_factor.push_back(float(v));
    }
  }
  return cells;
}

CsrSlice csr_columns(const CsrView& x, int64_t col0, int64_t n) {
  CsrSlice s;
  s.indptr.push_back(0);
  for (int64_t r = 0; r < x.n_rows; ++r) {
    for (int64_t k = x.indptr[r]; k < x.indptr[r + 1]; ++k) {
      const int64_t c = x.indices[k];
      if (c < col0 || c >= col0 + n) continue;
      s.indices.push_back(int32_t(c - col0));
      s.data.push_back(x.data[k]);
    }
    s.indptr.push_back(int64_t(s.indices.size()));
  }
  s.view.indptr = s.indptr.data();
  s.view.indices = s.indices.data();
  s.view.data = s.data.data();
  s.view.n_rows = x.n_rows;
  s.view.n_cols = n;
  return s;
}

std::unique_ptr<models::RegviModel> new_regvi_model(const PreparedData& data, const RegviKeys& keys,
                                                    models::RegviConfig cfg, const std::vector<int64_t>& col0,
                                                    Backend& backend, uint64_t seed) {
  const models::RegviCells cells = regvi_cells(data, keys, &cfg);
  CUVI_CHECK(col0.size() == cfg.modalities.size(), "new_regvi_model: one column offset per modality");
  std::vector<CsrSlice> slices;
  models::RegviInitData init;
  init.cells = &cells;
  for (size_t m = 0; m < cfg.modalities.size(); ++m)
    slices.push_back(csr_columns(data.counts(), col0[m], cfg.modalities[m].n_features));
  for (const CsrSlice& s : slices) init.counts.push_back(s.view);
  const std::vector<std::vector<float>> log_theta = models::resolve_dispersion_init(cfg, init);
  cfg.validate();
  auto model = std::make_unique<models::RegviModel>(cfg);
  model->allocate(backend, seed);
  model->set_column_offsets(col0);
  models::apply_data_init(*model, init, log_theta);
  model->set_cells(cells);
  return model;
}

TrainConfig regvi_train_config() {
  TrainConfig tc;
  tc.optimizer = AdamConfig::scvi();
  tc.n_epochs_kl_warmup = 400;
  tc.batch_size = 128;
  tc.restore_best_weights = false;  // scvi-tools' early stopping keeps the last epoch's weights
  return tc;
}

int64_t training_set_size(int64_t n_cells, const TrainConfig& tc) {
  if (!tc.validation_cells.empty()) return n_cells - int64_t(tc.validation_cells.size());
  return int64_t(split_data(n_cells, tc.train_size, tc.batch_size, tc.seed).train.size());
}

TrainResult train_regvi(models::RegviModel& model, const PreparedData& data, Backend& backend, const TrainConfig& tc,
                        const LoaderOptions& loader) {
  model.set_n_obs(std::max<int64_t>(1, training_set_size(data.counts().n_rows, tc)));
  model.set_base_optimizer(tc.optimizer);
  CellTable cells = data.cells;  // the purpose codes live in the model; the loader gathers counts and cont
  cells.codes.clear();
  cells.n_codes = 0;
  DeviceDataset dataset(backend, data.counts(), cells, loader);
  Trainer trainer(backend, model, dataset, tc);
  return trainer.fit();
}

}  // namespace cuvi::workflow
