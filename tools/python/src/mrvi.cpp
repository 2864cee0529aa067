// MRVI for the Python package (spec/mrvi.md §4-5): the configuration, training on a registered AnnData
// (workflow::new_mrvi_model / train_mrvi, as `cuvi train mrvi`), the model's file form, and inference
// through the CLI's workflow functions: latent u / z (cuvi latent), normalized expression (cuvi normalize),
// local sample distances (cuvi distances), counterfactual DE (cuvi de), differential abundance (cuvi da)
// and outlier cell-sample pairs (cuvi outliers); the last four write netCDF-4 to a path the caller reads.
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>

#include "engine/error.h"
#include "tools/python/src/bindings.h"
#include "tools/python/src/model.h"
#include "tools/python/src/train_relay.h"
#include "tools/workflow/mrvi_abundance.h"
#include "tools/workflow/mrvi_de.h"
#include "tools/workflow/mrvi_distances.h"
#include "tools/workflow/mrvi_sample_clusters.h"
#include "tools/workflow/mrvi_session.h"
#include "tools/workflow/mrvi_train.h"
#include "tools/workflow/scvi_train.h"

namespace cuvi::python {
namespace {

using models::MrviConfig;

MrviModel train(MemoryData& data, const MrviConfig& cfg, TrainConfig tc, const std::string& device, int threads,
                nb::object progress, double progress_interval, const std::string& source) {
  MrviModel out;
  run_training(device, threads, std::move(tc), std::move(progress), progress_interval, &out,
               [&](Backend& backend, const TrainConfig& t) {
                 auto model = workflow::new_mrvi_model(data.prepared, cfg, backend, t.seed);
                 const workflow::SampleTable samples = workflow::sample_table(data.prepared);
                 const TrainResult r = workflow::train_mrvi(*model, data.prepared, backend, t);
                 out.file = workflow::mrvi_from(workflow::model_file_of(
                     workflow::kMrviKind, model->config().to_map(), model->params(), data.prepared.registry, samples,
                     r.history, workflow::training_facts(backend, t, r, source)));
                 return r;
               });
  return out;
}

// Runs f(inference) with the model on a new backend over `data`; counterfactual_rows > 0 sizes the arena
// for the analyses' counterfactual passes.
template <class F>
auto with_mrvi(const MrviModel& model, MemoryData& data, const RunOptions& o, int64_t counterfactual_rows, F&& f) {
  return with_session(data, o, [&](Backend& backend, workflow::PreparedData prepared) {
    return workflow::open_mrvi_inference(model.file, std::move(prepared), backend, o.seed, o.batch_size, {},
                                         counterfactual_rows);
  }, std::forward<F>(f));
}

nb::ndarray<nb::numpy, float> latent(const MrviModel& model, MemoryData& data, bool give_z, bool use_mean,
                                     const RunOptions& o) {
  const int64_t R = data.prepared.counts().n_rows;
  const int64_t D = give_z ? model.file.config.n_latent : model.file.config.n_latent_u;
  std::vector<float> z = with_mrvi(model, data, o, 0, [&](workflow::MrviInference& inf) {
    return inf.session->latent(give_z, use_mean, o.seed);
  });
  return to_numpy(std::move(z), {size_t(R), size_t(D)});
}

nb::ndarray<nb::numpy, float> normalized_expression(const MrviModel& model, MemoryData& data,
                                                    std::optional<double> library_size, int64_t n_samples,
                                                    const std::vector<std::string>& transform_batch,
                                                    const std::vector<std::string>& genes, const RunOptions& o) {
  const workflow::DataRegistry& reg = model.file.file.registry;
  const workflow::NormalizeOptions opt = normalize_options(reg, library_size, n_samples, transform_batch, genes);
  const int64_t R = data.prepared.counts().n_rows;
  const size_t G = genes.empty() ? reg.genes.size() : genes.size();
  std::vector<float> x = with_mrvi(model, data, o, 0, [&](workflow::MrviInference& inf) {
    return inf.session->normalized_expression(opt, o.seed);
  });
  return to_numpy(std::move(x), {size_t(R), G});
}

// The analyses below write a netCDF-4 file at `path` (committed only when complete) and return warnings.
void local_sample_distances(const MrviModel& model, MemoryData& data, const workflow::DistanceOptions& opt,
                            bool cluster, const std::string& linkage, const RunOptions& o, const std::string& path) {
  CUVI_CHECK(opt.norm == "l2" || opt.norm == "l1" || opt.norm == "linf",
             "norm '" + opt.norm + "' is not one of: l2, l1, linf");
  CUVI_CHECK(!opt.normalize || opt.norm == "l2", "normalize_distances needs norm='l2'");
  CUVI_CHECK(opt.keep_cell || !opt.groupby.empty(), "nothing to compute: give groupby keys, keep_cell=True, or both");
  CUVI_CHECK(opt.mc_samples >= 1, "mc_samples must be at least 1");
  CUVI_CHECK(!cluster || (!opt.groupby.empty() && opt.use_mean && !opt.normalize),
             "clustering the samples needs groupby keys, use_mean=True and normalize_distances=False");
  const workflow::Linkage method = workflow::parse_linkage(linkage);
  with_mrvi(model, data, o, opt.max_rows, [&](workflow::MrviInference& inf) {
    io::NetcdfWriter out(path);
    const std::vector<workflow::GroupDistances> groups =
        workflow::local_sample_distances(*inf.session, inf.data, opt, out);
    if (cluster)
      workflow::write_sample_clusters(workflow::cluster_samples(groups, inf.data.registry.sample_categories, method),
                                      method, out);
    out.commit();
    return 0;
  });
}

std::vector<std::string> differential_expression(const MrviModel& model, MemoryData& data,
                                                 const workflow::MrviDeOptions& opt, const RunOptions& o,
                                                 const std::string& path) {
  CUVI_CHECK(!opt.sample_cov_keys.empty(), "MRVI's differential_expression needs sample_cov_keys");
  CUVI_CHECK(opt.mc_samples >= 1, "mc_samples must be at least 1");
  CUVI_CHECK(opt.store_lfc || opt.store_lfc_metadata_subset.empty(), "store_lfc_metadata_subset needs store_lfc=True");
  std::vector<std::string> warnings;
  with_mrvi(model, data, o, opt.max_rows, [&](workflow::MrviInference& inf) {
    io::NetcdfWriter out(path);
    workflow::differential_expression(*inf.session, inf.data, opt, out, &warnings);
    out.commit();
    return 0;
  });
  return warnings;
}

std::vector<std::string> differential_abundance(const MrviModel& model, MemoryData& data,
                                                const workflow::DaOptions& opt, const RunOptions& o,
                                                const std::string& path) {
  CUVI_CHECK(!opt.compute_log_enrichment || !opt.sample_cov_keys.empty(),
             "compute_log_enrichment needs sample_cov_keys");
  std::vector<std::string> warnings;
  with_mrvi(model, data, o, 0, [&](workflow::MrviInference& inf) {
    io::NetcdfWriter out(path);
    workflow::differential_abundance(*inf.session, inf.data, opt, out, &warnings);
    out.commit();
    return 0;
  });
  return warnings;
}

void outlier_cell_sample_pairs(const MrviModel& model, MemoryData& data, const workflow::OutlierOptions& opt,
                               const RunOptions& o, const std::string& path) {
  with_mrvi(model, data, o, 0, [&](workflow::MrviInference& inf) {
    const workflow::OutlierResult r = workflow::outlier_cell_sample_pairs(*inf.session, inf.data, opt);
    io::NetcdfWriter out(path);
    workflow::write_outliers(r, inf.data, out);
    out.commit();
    return 0;
  });
}

nb::dict sample_table_of(const workflow::SampleTable& t) {
  nb::dict d;
  d["samples"] = t.samples;
  d["n_cells"] = t.n_cells;
  nb::list columns;
  for (const workflow::SampleColumn& c : t.columns)
    columns.append(nb::make_tuple(c.name, c.numeric, c.numeric ? nb::cast(c.values) : nb::cast(c.text)));
  d["columns"] = columns;
  return d;
}

// MrviConfig.{qz,px}_<name> for the attention blocks' options (scvi-tools' qz_kwargs / px_kwargs keys).
template <class C>
void attention_fields(C& c, const char* prefix, models::MrviAttentionOptions MrviConfig::*block) {
  const std::string p = prefix;
  c.def_prop_rw((p + "_n_hidden").c_str(), [block](const MrviConfig& m) { return (m.*block).n_hidden; },
                [block](MrviConfig& m, int64_t v) { (m.*block).n_hidden = v; })
      .def_prop_rw((p + "_n_layers").c_str(), [block](const MrviConfig& m) { return (m.*block).n_layers; },
                   [block](MrviConfig& m, int v) { (m.*block).n_layers = v; })
      .def_prop_rw((p + "_dropout_rate").c_str(), [block](const MrviConfig& m) { return (m.*block).dropout_rate; },
                   [block](MrviConfig& m, double v) { (m.*block).dropout_rate = v; })
      .def_prop_rw((p + "_stop_gradients").c_str(), [block](const MrviConfig& m) { return (m.*block).stop_gradients; },
                   [block](MrviConfig& m, bool v) { (m.*block).stop_gradients = v; })
      .def_prop_rw((p + "_stop_gradients_mlp").c_str(),
                   [block](const MrviConfig& m) { return (m.*block).stop_gradients_mlp; },
                   [block](MrviConfig& m, bool v) { (m.*block).stop_gradients_mlp = v; });
}

}  // namespace

void bind_mrvi(nb::module_& m) {
  nb::class_<MrviConfig> cfg(m, "MrviConfig", "MRVI configuration (scvi-tools' MRVAE names and defaults).");
  cfg.def(nb::init<>())
      .def_ro("n_genes", &MrviConfig::n_genes)
      .def_ro("n_sample", &MrviConfig::n_sample)
      .def_ro("n_batch", &MrviConfig::n_batch)
      .def_ro("n_labels", &MrviConfig::n_labels)
      .def_rw("n_latent", &MrviConfig::n_latent)
      .def_rw("n_latent_u", &MrviConfig::n_latent_u)
      .def_rw("encoder_n_hidden", &MrviConfig::encoder_n_hidden)
      .def_rw("encoder_n_layers", &MrviConfig::encoder_n_layers)
      .def_rw("z_u_prior", &MrviConfig::z_u_prior)
      .def_rw("z_u_prior_scale", &MrviConfig::z_u_prior_scale)
      .def_rw("u_prior_scale", &MrviConfig::u_prior_scale)
      .def_rw("u_prior_mixture", &MrviConfig::u_prior_mixture)
      .def_rw("u_prior_mixture_k", &MrviConfig::u_prior_mixture_k)
      .def_rw("learn_z_u_prior_scale", &MrviConfig::learn_z_u_prior_scale)
      .def_rw("scale_observations", &MrviConfig::scale_observations)
      .def_rw("label_prior", &MrviConfig::label_prior)
      .def_rw("qz_use_map", &MrviConfig::qz_use_map)
      .def_rw("px_low_dim_batch", &MrviConfig::px_low_dim_batch)
      .def("to_dict", &MrviConfig::to_map)
      .def("describe", &MrviConfig::describe);
  attention_fields(cfg, "qz", &MrviConfig::qz);
  attention_fields(cfg, "px", &MrviConfig::px);

  bind_run_facts(
      nb::class_<MrviModel>(m, "MrviModel", "A trained MRVI: configuration, weights, registry, samples, history.")
          .def_static("train", &train, nb::arg("data"), nb::arg("config"), nb::arg("train_config"), nb::arg("device"),
                      nb::arg("threads"), nb::arg("progress").none(), nb::arg("progress_interval"), nb::arg("source"),
                      "Trains a new MRVI on registered data (its sample key set); progress(dict) as Model.train.")
          .def_static("read",
                      [](const std::string& path) {
                        MrviModel mo;
                        mo.file = workflow::read_mrvi(path);
                        return mo;
                      },
                      nb::arg("path"))
          .def(
              "save",
              [](const MrviModel& mo, const std::string& path) { workflow::save_model_file(path, mo.file.file); },
              nb::arg("path"))
          .def_prop_ro("config", [](const MrviModel& mo) { return mo.file.config; })
          .def_prop_ro("registry", [](const MrviModel& mo) { return mo.file.file.registry; })
          .def_prop_ro("info", [](const MrviModel& mo) { return mo.file.file.info; })
          .def_prop_ro("samples", [](const MrviModel& mo) { return sample_table_of(mo.file.file.samples); })
          .def_prop_ro("history", [](const MrviModel& mo) {
            nb::dict d;
            for (const auto& [k, v] : mo.file.file.history) d[k.c_str()] = to_numpy(std::vector<double>(v), {v.size()});
            return d;
          }));

  using workflow::DistanceOptions;
  nb::class_<DistanceOptions>(m, "MrviDistanceOptions", "get_local_sample_distances options.")
      .def(nb::init<>())
      .def_rw("norm", &DistanceOptions::norm)
      .def_rw("use_mean", &DistanceOptions::use_mean)
      .def_rw("normalize", &DistanceOptions::normalize)
      .def_rw("mc_samples", &DistanceOptions::mc_samples)
      .def_rw("groupby", &DistanceOptions::groupby)
      .def_rw("keep_cell", &DistanceOptions::keep_cell)
      .def_rw("seed", &DistanceOptions::seed);
  using workflow::OutlierOptions;
  nb::class_<OutlierOptions>(m, "MrviOutlierOptions", "get_outlier_cell_sample_pairs options.")
      .def(nb::init<>())
      .def_rw("subsample_size", &OutlierOptions::subsample_size)
      .def_rw("quantile_threshold", &OutlierOptions::quantile_threshold)
      .def_rw("admissibility_threshold", &OutlierOptions::admissibility_threshold)
      .def_rw("seed", &OutlierOptions::seed);
  using workflow::MrviDeOptions;
  nb::class_<MrviDeOptions>(m, "MrviDeOptions", "MRVI differential_expression options (scvi-tools' names).")
      .def(nb::init<>())
      .def_rw("sample_cov_keys", &MrviDeOptions::sample_cov_keys)
      .def_rw("sample_subset", &MrviDeOptions::sample_subset)
      .def_rw("normalize_design_matrix", &MrviDeOptions::normalize_design_matrix)
      .def_rw("add_batch_specific_offsets", &MrviDeOptions::add_batch_specific_offsets)
      .def_rw("mc_samples", &MrviDeOptions::mc_samples)
      .def_rw("store_lfc", &MrviDeOptions::store_lfc)
      .def_rw("store_lfc_metadata_subset", &MrviDeOptions::store_lfc_metadata_subset)
      .def_rw("eps_lfc", &MrviDeOptions::eps_lfc)
      .def_rw("filter_inadmissible_samples", &MrviDeOptions::filter_inadmissible_samples)
      .def_rw("outliers", &MrviDeOptions::outliers)
      .def_rw("lambd", &MrviDeOptions::lambd)
      .def_prop_rw(
          "delta", [](const MrviDeOptions& o) { return std::isnan(o.delta) ? std::optional<double>() : o.delta; },
          [](MrviDeOptions& o, std::optional<double> v) { o.delta = v ? *v : NAN; }, nb::arg().none())
      .def_rw("seed", &MrviDeOptions::seed);
  using workflow::DaOptions;
  nb::class_<DaOptions>(m, "MrviDaOptions", "MRVI differential_abundance options (scvi-tools' names).")
      .def(nb::init<>())
      .def_rw("sample_cov_keys", &DaOptions::sample_cov_keys)
      .def_rw("sample_subset", &DaOptions::sample_subset)
      .def_rw("compute_log_enrichment", &DaOptions::compute_log_enrichment)
      .def_rw("omit_original_sample", &DaOptions::omit_original_sample);

  m.def("mrvi_latent", &latent, nb::arg("model"), nb::arg("data"), nb::arg("give_z"), nb::arg("use_mean"),
        nb::arg("run"));
  m.def("mrvi_normalized_expression", &normalized_expression, nb::arg("model"), nb::arg("data"),
        nb::arg("library_size").none(), nb::arg("n_samples"), nb::arg("transform_batch"), nb::arg("genes"),
        nb::arg("run"));
  m.def("mrvi_local_sample_distances", &local_sample_distances, nb::arg("model"), nb::arg("data"), nb::arg("options"),
        nb::arg("cluster"), nb::arg("linkage"), nb::arg("run"), nb::arg("path"));
  m.def("mrvi_differential_expression", &differential_expression, nb::arg("model"), nb::arg("data"),
        nb::arg("options"), nb::arg("run"), nb::arg("path"));
  m.def("mrvi_differential_abundance", &differential_abundance, nb::arg("model"), nb::arg("data"), nb::arg("options"),
        nb::arg("run"), nb::arg("path"));
  m.def("mrvi_outlier_cell_sample_pairs", &outlier_cell_sample_pairs, nb::arg("model"), nb::arg("data"),
        nb::arg("options"), nb::arg("run"), nb::arg("path"));
}

}  // namespace cuvi::python
