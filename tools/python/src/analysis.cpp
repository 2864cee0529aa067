// Inference and analyses on an AnnData in memory, through the same workflow functions as the CLI commands:
// latent (cuvi latent), normalized expression (normalize), differential expression (de), ELBO /
// reconstruction / marginal LL (evaluate), posterior predictive counts (sample), LinearSCVI loadings.
// Each call rebuilds the model on a fresh backend from its file form and runs without the GIL.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <map>

#include "engine/error.h"
#include "tools/python/src/bindings.h"
#include "tools/python/src/model.h"
#include "tools/workflow/scvi_de.h"
#include "tools/workflow/scvi_fit.h"
#include "tools/workflow/scvi_inference.h"
#include "tools/workflow/scvi_sample.h"

namespace cuvi::python {

nb::tuple table_to_python(const workflow::ResultTable& t) {
  nb::list columns;
  for (const workflow::ResultColumn& c : t.columns) {
    nb::object values;
    const size_t n = size_t(c.size());
    switch (c.kind) {
      case workflow::ResultColumn::F32: {
        std::vector<float> v(c.num.begin(), c.num.end());
        values = nb::cast(to_numpy(std::move(v), {n}));
        break;
      }
      case workflow::ResultColumn::F64:
        values = nb::cast(to_numpy(std::vector<double>(c.num), {n}));
        break;
      case workflow::ResultColumn::Bool: {
        std::vector<bool> b(n);
        for (size_t i = 0; i < n; ++i) b[i] = c.num[i] != 0;
        values = nb::cast(b);
        break;
      }
      default:
        values = nb::cast(c.text);
    }
    columns.append(nb::make_tuple(c.name, values));
  }
  return nb::make_tuple(t.index, columns);
}

namespace {

// Runs f(inference) with the SCVI / LinearSCVI model on a new backend over `data`.
template <class F>
auto with_inference(const Model& model, MemoryData& data, const RunOptions& o, F&& f) {
  return with_session(data, o, [&](Backend& backend, workflow::PreparedData prepared) {
    return workflow::open_scvi_inference(model.file, std::move(prepared), backend, o.seed, o.batch_size);
  }, std::forward<F>(f));
}

nb::ndarray<nb::numpy, float> latent(const Model& model, MemoryData& data, bool give_mean, int64_t mc_samples,
                                     const RunOptions& o) {
  CUVI_CHECK(mc_samples >= 1, "mc_samples must be at least 1");
  const int64_t R = data.prepared.counts().n_rows, L = model.file.config.n_latent;
  std::vector<float> z = with_inference(model, data, o, [&](workflow::ScviInference& inf) {
    return inf.session->latent(give_mean, o.seed, mc_samples);
  });
  return to_numpy(std::move(z), {size_t(R), size_t(L)});
}

nb::ndarray<nb::numpy, float> normalized_expression(const Model& model, MemoryData& data,
                                                    std::optional<double> library_size, int64_t n_samples,
                                                    const std::vector<std::string>& transform_batch,
                                                    const std::vector<std::string>& genes, const RunOptions& o) {
  const workflow::DataRegistry& reg = model.file.registry;
  const workflow::NormalizeOptions opt = normalize_options(reg, library_size, n_samples, transform_batch, genes);
  const int64_t R = data.prepared.counts().n_rows;
  const size_t G = genes.empty() ? reg.genes.size() : genes.size();
  std::vector<float> x = with_inference(model, data, o, [&](workflow::ScviInference& inf) {
    return inf.session->normalized_expression(opt, o.seed);
  });
  return to_numpy(std::move(x), {size_t(R), G});
}

nb::tuple differential_expression(const Model& model, MemoryData& data, const workflow::DeOptions& opt,
                                  const RunOptions& o) {
  workflow::DeResult r = with_inference(model, data, o, [&](workflow::ScviInference& inf) {
    return workflow::differential_expression(inf, opt);
  });
  return nb::make_tuple(table_to_python(r.table), r.notes);
}

nb::dict evaluate(const Model& model, MemoryData& data, int64_t n_mc_samples, const RunOptions& o) {
  workflow::FitOptions opt;
  opt.n_mc_samples = n_mc_samples;
  opt.batch_size = o.batch_size;
  opt.seed = o.seed;
  workflow::FitResult r = with_inference(model, data, o, [&](workflow::ScviInference& inf) {
    return workflow::evaluate_fit(*inf.session, opt);
  });
  nb::dict d;
  d["elbo"] = to_numpy(std::move(r.elbo), {size_t(data.prepared.counts().n_rows)});
  d["reconstruction_loss"] = to_numpy(std::move(r.reconstruction_loss), {size_t(data.prepared.counts().n_rows)});
  d["elbo_mean"] = r.elbo_mean;
  d["reconstruction_loss_mean"] = r.reconstruction_loss_mean;
  if (n_mc_samples > 0) {
    d["marginal_ll"] = to_numpy(std::move(r.marginal_ll), {size_t(data.prepared.counts().n_rows)});
    d["marginal_ll_batch_mean"] = r.marginal_ll_batch_mean;
    d["marginal_ll_cell_mean"] = r.marginal_ll_cell_mean;
  }
  return d;
}

nb::list posterior_predictive_sample(const Model& model, MemoryData& data, int64_t n_samples, const RunOptions& o) {
  workflow::SampleOptions opt;
  opt.n_samples = n_samples;
  opt.batch_size = o.batch_size;
  opt.seed = o.seed;
  CUVI_CHECK(n_samples >= 1, "n_samples must be at least 1");
  std::vector<io::CsrMatrix> draws = with_inference(model, data, o, [&](workflow::ScviInference& inf) {
    return workflow::posterior_predictive_sample(*inf.session, opt);
  });
  nb::list out;
  for (io::CsrMatrix& m : draws) {
    const size_t nnz = m.data.size();
    out.append(nb::make_tuple(to_numpy(std::move(m.data), {nnz}), to_numpy(std::move(m.indices), {nnz}),
                              to_numpy(std::move(m.indptr), {size_t(m.n_rows + 1)}), m.n_rows, m.n_cols));
  }
  return out;
}

nb::ndarray<nb::numpy, float> loadings(const Model& model) {
  const models::ScviConfig& c = model.file.config;
  CUVI_CHECK(c.model == "LinearSCVI", "gene loadings exist only for LinearSCVI; this is an " + c.model + " model");
  std::unique_ptr<Backend> backend = make_cpu_backend(0, 1);
  auto m = workflow::load_scvi_model(model.file, *backend, 0);
  return to_numpy(m->module().loadings(m->params()), {size_t(c.n_genes), size_t(c.n_latent)});
}

}  // namespace

int64_t index_of(const std::vector<std::string>& names, const std::string& name, const std::string& what) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return int64_t(i);
  fail(what + " '" + name + "' is not one the model was trained with");
}

workflow::NormalizeOptions normalize_options(const workflow::DataRegistry& reg, std::optional<double> library_size,
                                             int64_t n_samples, const std::vector<std::string>& transform_batch,
                                             const std::vector<std::string>& genes) {
  workflow::NormalizeOptions opt;
  opt.library_latent = !library_size;
  if (library_size) {
    CUVI_CHECK(*library_size > 0, "library_size must be positive or 'latent'");
    opt.library_size = *library_size;
  }
  CUVI_CHECK(n_samples >= 1, "n_samples must be at least 1");
  opt.n_samples = n_samples;
  for (const auto& b : transform_batch)
    opt.transform_batches.push_back(index_of(reg.batch_categories, b, "transform_batch"));
  for (const auto& g : genes) opt.genes.push_back(index_of(reg.genes, g, "gene"));
  return opt;
}

void bind_analysis(nb::module_& m) {
  nb::class_<RunOptions>(m, "RunOptions", "Where and how an inference call runs.")
      .def(nb::init<>())
      .def_rw("device", &RunOptions::device)
      .def_rw("threads", &RunOptions::threads)
      .def_rw("seed", &RunOptions::seed)
      .def_rw("batch_size", &RunOptions::batch_size);
  using workflow::DeOptions;
  nb::class_<DeOptions>(m, "DeOptions", "differential_expression options (scvi-tools' names and defaults).")
      .def(nb::init<>())
      .def_rw("groupby", &DeOptions::groupby)
      .def_rw("group1", &DeOptions::group1)
      .def_rw("group2", &DeOptions::group2)
      .def_rw("mode", &DeOptions::mode)
      .def_rw("delta", &DeOptions::delta, nb::arg().none())
      .def_rw("fdr_target", &DeOptions::fdr_target)
      .def_rw("batch_correction", &DeOptions::batch_correction)
      .def_rw("pseudocounts", &DeOptions::pseudocounts, nb::arg().none())
      .def_rw("threshold_counts", &DeOptions::threshold_counts)
      .def_rw("test_mode", &DeOptions::test_mode)
      .def_rw("n_samples_overall", &DeOptions::n_samples_overall)
      .def_rw("seed", &DeOptions::seed)
      .def_rw("batch_size", &DeOptions::batch_size);
  m.def("latent", &latent, nb::arg("model"), nb::arg("data"), nb::arg("give_mean"), nb::arg("mc_samples"),
        nb::arg("run"));
  m.def("normalized_expression", &normalized_expression, nb::arg("model"), nb::arg("data"),
        nb::arg("library_size").none(), nb::arg("n_samples"), nb::arg("transform_batch"), nb::arg("genes"),
        nb::arg("run"));
  m.def("differential_expression", &differential_expression, nb::arg("model"), nb::arg("data"), nb::arg("options"),
        nb::arg("run"));
  m.def("evaluate", &evaluate, nb::arg("model"), nb::arg("data"), nb::arg("n_mc_samples"), nb::arg("run"));
  m.def("posterior_predictive_sample", &posterior_predictive_sample, nb::arg("model"), nb::arg("data"),
        nb::arg("n_samples"), nb::arg("run"));
  m.def("loadings", &loadings, nb::arg("model"));
}

}  // namespace cuvi::python
