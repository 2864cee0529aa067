// A model as the Python package holds it: the workflow's file form (ScviFile: configuration, weights,
// registry, history, training facts), trained by workflow::train_scvi on a registered AnnData, read from
// and written to the .cuvi file. Training runs without the GIL; the progress callback and Ctrl-C are
// handled between steps (an interrupted run keeps the weights of its last finished epoch).
#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "engine/error.h"
#include "tools/python/src/bindings.h"
#include "tools/python/src/model.h"
#include "tools/python/src/train_relay.h"
#include "models/mrvi/mrvi_model.h"
#include "tools/workflow/regvi_train.h"
#include "tools/workflow/scvi_train.h"

namespace cuvi::python {
namespace {

Model train(MemoryData& data, const models::ScviConfig& cfg, TrainConfig tc, const std::string& device, int threads,
            nb::object progress, double progress_interval, const std::string& source) {
  cfg.validate();
  Model out;
  run_training(device, threads, std::move(tc), std::move(progress), progress_interval, &out,
               [&](Backend& backend, const TrainConfig& t) {
                 workflow::ScviTraining run = workflow::train_scvi(backend, cfg, data.prepared, t);
                 out.file = workflow::scvi_file_of(*run.model, data.prepared.registry, run.result.history,
                                                   workflow::training_facts(backend, t, run.result, source));
                 return run.result;
               });
  return out;
}

TrainConfig train_defaults(const std::string& kind) {
  if (kind == "mrvi") return models::mrvi_train_config();
  if (kind == "regularized-scvi") return workflow::regvi_train_config();
  CUVI_CHECK(kind == "scvi" || kind == "linear-scvi", "no training defaults for model kind '" + kind + "'");
  return TrainConfig();
}

nb::dict history_of(const Model& m) {
  nb::dict d;
  for (const auto& [k, v] : m.file.history) d[k.c_str()] = to_numpy(std::vector<double>(v), {v.size()});
  return d;
}

}  // namespace

void bind_model(nb::module_& m) {
  using models::ScviConfig;
  nb::class_<ScviConfig>(m, "ScviConfig", "SCVI / LinearSCVI configuration (scvi-tools' names and defaults).")
      .def_static(
          "for_data",
          [](const std::string& kind, const MemoryData& d) { return workflow::scvi_config_for(kind, d.prepared); },
          nb::arg("kind"), nb::arg("data"))
      .def_static("defaults", &workflow::scvi_defaults, nb::arg("kind"))
      .def_rw("model", &ScviConfig::model)
      .def_rw("n_genes", &ScviConfig::n_genes)
      .def_rw("n_batch", &ScviConfig::n_batch)
      .def_rw("n_labels", &ScviConfig::n_labels)
      .def_rw("n_cats_per_cov", &ScviConfig::n_cats_per_cov)
      .def_rw("n_continuous_cov", &ScviConfig::n_continuous_cov)
      .def_rw("n_hidden", &ScviConfig::n_hidden)
      .def_rw("n_latent", &ScviConfig::n_latent)
      .def_rw("n_layers", &ScviConfig::n_layers)
      .def_rw("dropout_rate", &ScviConfig::dropout_rate)
      .def_rw("dispersion", &ScviConfig::dispersion)
      .def_rw("gene_likelihood", &ScviConfig::gene_likelihood)
      .def_rw("latent_distribution", &ScviConfig::latent_distribution)
      .def_rw("use_observed_lib_size", &ScviConfig::use_observed_lib_size)
      .def_rw("encode_covariates", &ScviConfig::encode_covariates)
      .def_rw("deeply_inject_covariates", &ScviConfig::deeply_inject_covariates)
      .def_rw("use_batch_norm", &ScviConfig::use_batch_norm)
      .def_rw("use_layer_norm", &ScviConfig::use_layer_norm)
      .def("to_dict", &ScviConfig::to_map)
      .def("describe", &ScviConfig::describe);

  nb::class_<TrainConfig>(m, "TrainConfig", "Training options (scvi-tools' defaults).")
      .def(nb::init<>())
      .def_rw("max_epochs", &TrainConfig::max_epochs)
      .def_rw("batch_size", &TrainConfig::batch_size)
      .def_rw("train_size", &TrainConfig::train_size)
      .def_rw("validation_cells", &TrainConfig::validation_cells)
      .def_rw("early_stopping", &TrainConfig::early_stopping)
      .def_rw("early_stopping_patience", &TrainConfig::early_stopping_patience)
      .def_rw("early_stopping_min_delta", &TrainConfig::early_stopping_min_delta)
      .def_rw("early_stopping_monitor", &TrainConfig::early_stopping_monitor)
      .def_rw("n_epochs_kl_warmup", &TrainConfig::n_epochs_kl_warmup)
      .def_rw("n_steps_kl_warmup", &TrainConfig::n_steps_kl_warmup)
      .def_rw("seed", &TrainConfig::seed)
      .def_rw("cuda_graph", &TrainConfig::cuda_graph)
      .def_prop_rw("lr", [](const TrainConfig& c) { return c.optimizer.lr; },
                   [](TrainConfig& c, double v) { c.optimizer.lr = v; })
      .def_prop_rw("weight_decay", [](const TrainConfig& c) { return c.optimizer.weight_decay; },
                   [](TrainConfig& c, double v) { c.optimizer.weight_decay = v; })
      .def_prop_rw("eps", [](const TrainConfig& c) { return c.optimizer.eps; },
                   [](TrainConfig& c, double v) { c.optimizer.eps = v; })
      .def_prop_rw("gradient_clip_val", [](const TrainConfig& c) { return c.optimizer.clip_norm; },
                   [](TrainConfig& c, double v) { c.optimizer.clip_norm = v; })
      .def_static("defaults", &train_defaults, nb::arg("kind"),
                  "The training defaults of a model kind (scvi, linear-scvi, mrvi, regularized-scvi), as its CLI "
                  "uses them.");

  bind_run_facts(nb::class_<Model>(m, "Model",
                                   "A trained SCVI / LinearSCVI: configuration, weights, registry, history.")
      .def_static("train", &train, nb::arg("data"), nb::arg("config"), nb::arg("train_config"), nb::arg("device"),
                  nb::arg("threads"), nb::arg("progress").none(), nb::arg("progress_interval"), nb::arg("source"),
                  "Trains a new model on registered data; progress(dict) is called after every epoch and, within "
                  "one, at most every progress_interval seconds.")
      .def_static("read",
                  [](const std::string& path) {
                    Model mo;
                    mo.file = workflow::read_scvi(path);
                    return mo;
                  },
                  nb::arg("path"))
      .def(
          "save", [](const Model& mo, const std::string& path) { workflow::save_scvi(path, mo.file); }, nb::arg("path"))
      .def_prop_ro("config", [](const Model& mo) { return mo.file.config; })
      .def_prop_ro("registry", [](const Model& mo) { return mo.file.registry; })
      .def_prop_ro("info", [](const Model& mo) { return mo.file.info; })
      .def_prop_ro("history", &history_of));
}

}  // namespace cuvi::python
