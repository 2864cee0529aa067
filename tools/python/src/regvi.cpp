// regularizedvi's AmbientRegularizedSCVI for the Python package (regularizedvi.md §1-9): the purpose keys,
// the single-modal configuration, training on a registered AnnData (workflow::new_regvi_model /
// train_regvi, as `cuvi train regularized-scvi`), the model's file form, and inference through the CLI's
// workflow functions: latent (cuvi latent), normalized expression (cuvi normalize), DE (cuvi de).
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>

#include "engine/error.h"
#include "tools/python/src/bindings.h"
#include "tools/python/src/model.h"
#include "tools/python/src/train_relay.h"
#include "tools/workflow/regvi_file.h"
#include "tools/workflow/regvi_session.h"
#include "tools/workflow/scvi_train.h"

namespace cuvi::python {
namespace {

using models::RegviConfig;
using workflow::RegviKeys;

RegviModel train(MemoryData& data, const RegviKeys& keys, RegviConfig cfg, TrainConfig tc, const std::string& device,
                 int threads, nb::object progress, double progress_interval, const std::string& source) {
  CUVI_CHECK(!cfg.multimodal && cfg.modalities.size() == 1, "AmbientRegularizedSCVI has one modality");
  cfg.modalities[0].n_features = int64_t(data.prepared.registry.genes.size());
  RegviModel out;
  run_training(device, threads, std::move(tc), std::move(progress), progress_interval, &out,
               [&](Backend& backend, const TrainConfig& t) {
                 auto model = workflow::new_regvi_model(data.prepared, keys, cfg, {0}, backend, t.seed);
                 const TrainResult r = workflow::train_regvi(*model, data.prepared, backend, t);
                 std::map<std::string, std::string> facts = workflow::training_facts(backend, t, r, source);
                 facts["n_obs_global_terms"] = std::to_string(model->n_obs());
                 std::map<std::string, std::string> config = model->config().to_map();
                 for (const auto& [k, v] : keys.to_map()) config[k] = v;
                 out.file = workflow::regvi_from(workflow::model_file_of(workflow::kRegviKind, config, model->params(),
                                                                         data.prepared.registry, {}, r.history, facts));
                 return r;
               });
  return out;
}

// The model opened on the data with its inference session (the CLI's `Opened`).
struct RegviOpened {
  workflow::RegviInference inf;
  std::unique_ptr<workflow::RegviSession> session;
};

// with_session's hand-back of the data (found by argument-dependent lookup).
workflow::PreparedData release_data(RegviOpened& o) {
  o.session.reset();
  return std::move(o.inf.data);
}

template <class F>
auto with_regvi(const RegviModel& model, MemoryData& data, const RunOptions& o, F&& f) {
  return with_session(data, o, [&](Backend& backend, workflow::PreparedData prepared) {
    RegviOpened opened;
    opened.inf = workflow::open_regvi(model.file, std::move(prepared), {0}, backend, o.seed);
    opened.session = std::make_unique<workflow::RegviSession>(backend, *opened.inf.model, opened.inf.data,
                                                               o.batch_size);
    return opened;
  }, std::forward<F>(f));
}

nb::ndarray<nb::numpy, float> latent(const RegviModel& model, MemoryData& data, bool give_mean, const RunOptions& o) {
  const int64_t R = data.prepared.counts().n_rows, L = model.file.config.total_latent();
  std::vector<float> z = with_regvi(model, data, o, [&](RegviOpened& op) {
    return op.session->latent(give_mean, o.seed);
  });
  return to_numpy(std::move(z), {size_t(R), size_t(L)});
}

nb::ndarray<nb::numpy, float> normalized_expression(const RegviModel& model, MemoryData& data,
                                                    std::optional<double> library_size, int64_t n_samples,
                                                    const std::vector<std::string>& transform_batch,
                                                    const std::vector<std::string>& genes, const RunOptions& o) {
  const workflow::DataRegistry& reg = model.file.file.registry;
  CUVI_CHECK(transform_batch.empty(), "transform_batch has no effect on AmbientRegularizedSCVI (its decoder is "
                                      "batch-free); leave it None");
  const workflow::NormalizeOptions opt = normalize_options(reg, library_size, n_samples, {}, genes);
  const int64_t R = data.prepared.counts().n_rows;
  const size_t G = genes.empty() ? reg.genes.size() : genes.size();
  std::vector<float> x = with_regvi(model, data, o, [&](RegviOpened& op) {
    return op.session->normalized_expression(opt, o.seed);
  });
  return to_numpy(std::move(x), {size_t(R), G});
}

nb::tuple differential_expression(const RegviModel& model, MemoryData& data, const workflow::DeOptions& opt,
                                  const RunOptions& o) {
  workflow::DeResult r = with_regvi(model, data, o, [&](RegviOpened& op) {
    return workflow::regvi_differential_expression(op.inf, *op.session, opt);
  });
  return nb::make_tuple(table_to_python(r.table), r.notes);
}

// RegviConfig.<name> for the single modality's options (regularizedvi's constructor names).
template <class T>
void modality_field(nb::class_<RegviConfig>& c, const char* name, T models::RegviModality::*field) {
  c.def_prop_rw(name, [field](const RegviConfig& m) { return m.modalities.at(0).*field; },
                [field](RegviConfig& m, T v) { m.modalities.at(0).*field = v; });
}

}  // namespace

void bind_regvi(nb::module_& m) {
  nb::class_<RegviKeys>(m, "RegviKeys", "regularizedvi's setup_anndata keys (purpose-based covariates).")
      .def(nb::init<>())
      .def_rw("batch_key", &RegviKeys::batch_key)
      .def_rw("size_factor_key", &RegviKeys::size_factor_key)
      .def_rw("dispersion_key", &RegviKeys::dispersion_key)
      .def_rw("library_size_key", &RegviKeys::library_size_key)
      .def_rw("ambient_covariate_keys", &RegviKeys::ambient_covariate_keys)
      .def_rw("nn_conditioning_covariate_keys", &RegviKeys::nn_conditioning_covariate_keys)
      .def_rw("continuous_covariate_keys", &RegviKeys::continuous_covariate_keys)
      .def_rw("feature_scaling_covariate_keys", &RegviKeys::feature_scaling_covariate_keys)
      .def_rw("encoder_covariate_keys", &RegviKeys::encoder_covariate_keys)
      .def_rw("feature_scaling_set", &RegviKeys::feature_scaling_set)
      .def("resolved", &RegviKeys::resolved, "batch_key fanned out; fails when combined with purpose keys")
      .def("setup_keys", &RegviKeys::setup_keys, nb::arg("layer"), "The shared registration's keys.")
      .def("to_dict", &RegviKeys::to_map)
      .def_static("from_dict", &RegviKeys::from_map, nb::arg("config"));

  nb::class_<RegviConfig> cfg(m, "RegviConfig", "AmbientRegularizedSCVI configuration (regularizedvi's defaults).");
  cfg.def(nb::init<>())
      .def_static("single_modal", &RegviConfig::single_modal, nb::arg("n_genes") = 0)
      .def_rw("dropout_rate", &RegviConfig::dropout_rate)
      .def_rw("library_n_hidden", &RegviConfig::library_n_hidden)
      .def_rw("use_batch_norm", &RegviConfig::use_batch_norm)
      .def_rw("use_layer_norm", &RegviConfig::use_layer_norm)
      .def_rw("deeply_inject_covariates", &RegviConfig::deeply_inject_covariates)
      .def_rw("residual_library_encoder", &RegviConfig::residual_library_encoder)
      .def_rw("library_obs_w_prior_rate", &RegviConfig::library_obs_w_prior_rate)
      .def_rw("regularise_dispersion", &RegviConfig::regularise_dispersion)
      .def_rw("regularise_background", &RegviConfig::regularise_background)
      .def_rw("additive_bg_prior_alpha", &RegviConfig::additive_bg_prior_alpha)
      .def_rw("additive_bg_prior_beta", &RegviConfig::additive_bg_prior_beta)
      .def_rw("feature_scaling_prior_alpha", &RegviConfig::feature_scaling_prior_alpha)
      .def_rw("feature_scaling_prior_beta", &RegviConfig::feature_scaling_prior_beta)
      .def_rw("decoder_weight_l2", &RegviConfig::decoder_weight_l2)
      .def_rw("decoder_cov_weight_l2", &RegviConfig::decoder_cov_weight_l2)
      .def_rw("init_decoder_bias", &RegviConfig::init_decoder_bias)
      .def_rw("bg_init_gene_fraction", &RegviConfig::bg_init_gene_fraction)
      .def_rw("additive_bg_init_std", &RegviConfig::additive_bg_init_std)
      .def_rw("dispersion_init", &RegviConfig::dispersion_init)
      .def_rw("dispersion_init_bio_frac", &RegviConfig::dispersion_init_bio_frac)
      .def_rw("dispersion_init_theta_min", &RegviConfig::dispersion_init_theta_min)
      .def_rw("dispersion_init_theta_max", &RegviConfig::dispersion_init_theta_max)
      .def("to_dict", &RegviConfig::to_map)
      .def("describe", &RegviConfig::describe);
  modality_field(cfg, "n_hidden", &models::RegviModality::n_hidden);
  modality_field(cfg, "n_latent", &models::RegviModality::n_latent);
  modality_field(cfg, "n_layers", &models::RegviModality::n_layers);
  modality_field(cfg, "dispersion", &models::RegviModality::dispersion);
  modality_field(cfg, "use_additive_background", &models::RegviModality::additive_background);
  modality_field(cfg, "use_feature_scaling", &models::RegviModality::feature_scaling);
  modality_field(cfg, "dispersion_hyper_prior_mean", &models::RegviModality::dispersion_hyper_prior_mean);
  modality_field(cfg, "dispersion_hyper_prior_alpha", &models::RegviModality::dispersion_hyper_prior_alpha);
  modality_field(cfg, "dispersion_prior_direction", &models::RegviModality::dispersion_prior_direction);
  modality_field(cfg, "library_log_vars_weight", &models::RegviModality::library_log_vars_weight);
  modality_field(cfg, "library_log_means_centering_sensitivity", &models::RegviModality::centering_sensitivity);
  modality_field(cfg, "decoder_bias_multiplier", &models::RegviModality::decoder_bias_multiplier);

  bind_run_facts(
      nb::class_<RegviModel>(m, "RegviModel", "A trained AmbientRegularizedSCVI: configuration, keys, weights, "
                                              "registry, history.")
          .def_static("train", &train, nb::arg("data"), nb::arg("keys"), nb::arg("config"), nb::arg("train_config"),
                      nb::arg("device"), nb::arg("threads"), nb::arg("progress").none(), nb::arg("progress_interval"),
                      nb::arg("source"), "Trains a new AmbientRegularizedSCVI on data registered with keys.")
          .def_static("read",
                      [](const std::string& path) {
                        RegviModel mo;
                        mo.file = workflow::read_regvi(path);
                        CUVI_CHECK(!mo.file.config.multimodal,
                                   path + ": holds a RegularizedMultimodalVI model, not an AmbientRegularizedSCVI");
                        return mo;
                      },
                      nb::arg("path"))
          .def(
              "save",
              [](const RegviModel& mo, const std::string& path) { workflow::save_model_file(path, mo.file.file); },
              nb::arg("path"))
          .def_prop_ro("config", [](const RegviModel& mo) { return mo.file.config; })
          .def_prop_ro("keys", [](const RegviModel& mo) { return mo.file.keys; })
          .def_prop_ro("registry", [](const RegviModel& mo) { return mo.file.file.registry; })
          .def_prop_ro("info", [](const RegviModel& mo) { return mo.file.file.info; })
          .def_prop_ro("history", [](const RegviModel& mo) {
            nb::dict d;
            for (const auto& [k, v] : mo.file.file.history) d[k.c_str()] = to_numpy(std::vector<double>(v), {v.size()});
            return d;
          }));

  m.def("regvi_latent", &latent, nb::arg("model"), nb::arg("data"), nb::arg("give_mean"), nb::arg("run"));
  m.def("regvi_normalized_expression", &normalized_expression, nb::arg("model"), nb::arg("data"),
        nb::arg("library_size").none(), nb::arg("n_samples"), nb::arg("transform_batch"), nb::arg("genes"),
        nb::arg("run"));
  m.def("regvi_differential_expression", &differential_expression, nb::arg("model"), nb::arg("data"),
        nb::arg("options"), nb::arg("run"));
}

}  // namespace cuvi::python
