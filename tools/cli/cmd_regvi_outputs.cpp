// cuvi latent / normalize / de with a RegularizedVI model file (regularizedvi.md §9): the latent as
// obsm['X_scVI'] (AmbientRegularizedSCVI, regularizedvi's compute_latent_umap key) or obsm['X_latent_joint']
// plus obsm['X_latent_<m>'] (RegularizedMultimodalVI); get_normalized_expression (rho * library size, or the
// NB mean for 'latent'); differential_expression through the shared DE driver (single-modal).
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/de_options.h"
#include "tools/workflow/output.h"
#include "tools/workflow/result_table.h"
#include "tools/workflow/regvi_session.h"

namespace cuvi::cli {
namespace {

struct Opened {
  workflow::RegviInference inf;
  std::unique_ptr<workflow::RegviSession> session;
};

Opened open(const Args& a, Backend& backend, uint64_t seed, int64_t batch_size) {
  Opened o;
  o.inf = workflow::open_regvi(a.required("model"), a.required("data"), backend, seed, a.flag("strict-counts"));
  report_data(a.flag("quiet"), o.inf.data.data);
  o.session = std::make_unique<workflow::RegviSession>(backend, *o.inf.model, o.inf.data, batch_size);
  return o;
}

}  // namespace

int latent_regvi(const Argv& argv) {
  const Args a(argv, {"model", "data", "out", "obsm-key", "give-mean", "batch-size", "seed", "device", "threads"},
               {"quiet", "strict-counts"});
  const bool quiet = a.flag("quiet");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  auto backend = backend_from(a, quiet);
  Opened o = open(a, *backend, seed, a.integer("batch-size", 128));
  const models::RegviConfig& c = o.inf.model->config();
  const bool give_mean = parse_bool(a, "give-mean", true);
  const std::vector<float> z = o.session->latent(give_mean, seed);
  const int64_t R = o.inf.data.counts().n_rows, K = c.total_latent();
  const std::string key = a.str("obsm-key", c.multimodal ? "X_latent_joint" : "X_scVI");
  io::H5adWriter w = workflow::open_result_file(o.inf.data, a.required("out"));
  w.add_obsm(key, z.data(), R, K);
  if (c.multimodal && c.latent_mode == "concatenation") {  // per-modality slices (compute_latent_umap(per_modality=True))
    int64_t at = 0;
    for (const models::RegviModality& m : c.modalities) {
      std::vector<float> part(size_t(R * m.n_latent));
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < m.n_latent; ++k) part[r * m.n_latent + k] = z[r * K + at + k];
      w.add_obsm("X_latent_" + m.name, part.data(), R, m.n_latent);
      at += m.n_latent;
    }
  }
  w.add_uns_string("cuvi/latent/model", a.required("model"));
  w.add_uns_string("cuvi/latent/kind", give_mean ? "posterior mean" : "posterior sample");
  w.commit();
  info(quiet, "wrote obsm['" + key + "'] (" + std::to_string(R) + " x " + std::to_string(K) + ") to " + a.required("out"));
  return 0;
}

int normalize_regvi(const Argv& argv) {
  const Args a(argv, {"model", "data", "out", "library-size", "n-samples", "layer-key", "modality", "batch-size", "seed",
                      "device", "threads"},
               {"quiet", "strict-counts"}, {"genes", "transform-batch"});
  CUVI_CHECK(!a.has("transform-batch"), "--transform-batch has no effect on a RegularizedVI model (batch-free decoder)");
  const bool quiet = a.flag("quiet");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  auto backend = backend_from(a, quiet);
  Opened o = open(a, *backend, seed, a.integer("batch-size", 128));
  const models::RegviConfig& c = o.inf.model->config();
  size_t mod = 0;
  if (c.multimodal) {
    const std::string m = a.str("modality", "rna");
    mod = c.modalities.size();
    for (size_t i = 0; i < c.modalities.size(); ++i)
      if (c.modalities[i].name == m) mod = i;
    CUVI_CHECK(mod < c.modalities.size(), "--modality '" + m + "' is not a modality of the model");
  }
  const std::vector<std::string>& features =
      c.multimodal && c.modalities[mod].name == "atac" ? o.inf.data.registry.regions : o.inf.data.registry.genes;
  workflow::NormalizeOptions opt;
  const std::string lib = a.str("library-size", "1");
  if (lib == "latent") {
    opt.library_latent = true;
  } else {
    opt.library_size = a.number("library-size", 1.0);
    CUVI_CHECK(opt.library_size > 0, "--library-size must be positive or 'latent'");
  }
  opt.n_samples = a.integer("n-samples", 1);
  std::vector<std::string> names;
  for (const std::string& g : a.list("genes")) {
    int64_t at = -1;
    for (size_t i = 0; i < features.size(); ++i)
      if (features[i] == g) at = int64_t(i);
    CUVI_CHECK(at >= 0, "--genes: '" + g + "' is not a feature of the model");
    opt.genes.push_back(at);
    names.push_back(g);
  }
  const std::vector<float> expr = o.session->normalized_expression(opt, seed, mod);
  const int64_t R = o.inf.data.counts().n_rows;
  const std::string layer = a.str("layer-key", "regularizedvi_normalized");
  io::DataFrame var;
  var.index = names.empty() ? features : names;
  io::H5adWriter w = io::H5adWriter::create(a.required("out"), o.inf.data.data.obs, var);
  w.set_x_dense(expr.data(), R, int64_t(var.index.size()));
  w.add_layer_dense(layer, expr.data(), R, int64_t(var.index.size()));
  w.add_uns_string("cuvi/normalize/model", a.required("model"));
  w.add_uns_string("cuvi/normalize/library_size", lib);
  w.commit();
  info(quiet, "wrote layer '" + layer + "' (" + std::to_string(R) + " cells x " + std::to_string(var.index.size()) +
                  " features) to " + a.required("out"));
  return 0;
}

int de_regvi(const Argv& argv) {
  const Args a(argv, merge({kDeOptions, {"model", "data", "out", "batch-size", "seed", "device", "threads"}}),
               merge({kDeFlags, {"quiet", "strict-counts"}}), kDeLists);
  const bool quiet = a.flag("quiet");
  const workflow::DeOptions opt = de_options_from(a, workflow::DeOptions{});
  auto backend = backend_from(a, quiet);
  Opened o = open(a, *backend, opt.seed, opt.batch_size);
  const workflow::DeResult r = workflow::regvi_differential_expression(o.inf, *o.session, opt);
  for (const auto& n : r.notes) info(quiet, "note: " + n);
  workflow::write_csv(r.table, a.required("out"));
  info(quiet, "DE (" + opt.mode + "): " + std::to_string(r.comparisons.size()) + " comparison(s); wrote " +
                  a.required("out"));
  return 0;
}

int evaluate_regvi(const Argv& argv) {
  const Args a(argv, {"model", "data", "out", "batch-size", "seed", "device", "threads"},
               {"per-cell", "per-feature", "covariate-effects", "quiet", "strict-counts"});
  const bool quiet = a.flag("quiet");
  const int tables = int(a.flag("per-cell")) + int(a.flag("per-feature")) + int(a.flag("covariate-effects"));
  CUVI_CHECK(tables <= 1, "--per-cell, --per-feature and --covariate-effects write different tables; give one");
  CUVI_CHECK((tables == 1) == a.has("out"), "--per-cell / --per-feature / --covariate-effects and --out go together");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  auto backend = backend_from(a, quiet);
  Opened o = open(a, *backend, seed, a.integer("batch-size", 128));
  const models::RegviConfig& c = o.inf.model->config();
  std::vector<double> recon, kl;
  o.session->fit_per_cell(seed, &recon, &kl);
  const int64_t R = int64_t(recon.size());
  double elbo = 0, rec = 0;
  for (int64_t r = 0; r < R; ++r) {
    elbo += -(recon[r] + kl[r]);
    rec += recon[r];
  }
  std::printf("elbo\t%.6f\nreconstruction_loss\t%.6f\n", elbo / double(R), rec / double(R));
  workflow::ResultTable t;
  if (a.flag("per-cell")) {
    t.index = o.inf.data.data.obs.index;
    if (int64_t(t.index.size()) != R) {
      t.index.clear();
      for (int64_t r = 0; r < R; ++r) t.index.push_back(std::to_string(r));
    }
    auto& e = t.add("elbo", workflow::ResultColumn::F64);
    auto& rc = t.add("reconstruction_loss", workflow::ResultColumn::F64);
    for (int64_t r = 0; r < R; ++r) {
      e.num.push_back(-(recon[r] + kl[r]));
      rc.num.push_back(recon[r]);
    }
  }
  if (a.flag("per-feature")) {  // get_per_feature_reconstruction_loss, every modality
    t.index_name = "feature";
    std::vector<std::string> modality;
    std::vector<double> nll;
    for (size_t m = 0; m < c.modalities.size(); ++m) {
      const std::vector<double> v = o.session->per_feature_nll(m, seed);
      const std::vector<std::string>& names =
          c.modalities[m].name == "atac" ? o.inf.data.registry.regions : o.inf.data.registry.genes;
      for (size_t f = 0; f < v.size(); ++f) {
        t.index.push_back(names.at(f));
        modality.push_back(c.modalities[m].name.empty() ? "counts" : c.modalities[m].name);
        nll.push_back(v[f]);
      }
    }
    t.add("modality", workflow::ResultColumn::Text).text = modality;
    t.add("nll", workflow::ResultColumn::F64).num = nll;
  }
  if (a.flag("covariate-effects")) {
    for (const workflow::RegviDecoderNorms& d : workflow::regvi_decoder_norms(*o.inf.model))
      std::printf("decoder_weights\t%s\tz_norm %.6f\tcov_norm %.6f\tcov_fraction %.6f\tn_z_dims %lld\tn_cov_dims %lld\n",
                  d.modality.c_str(), d.z_norm, d.cov_norm, d.cov_fraction, (long long)d.n_z_dims,
                  (long long)d.n_cov_dims);
    t = workflow::regvi_covariate_effects(o.inf, *o.session, seed);
  }
  if (a.has("out")) {
    workflow::write_csv(t, a.str("out"));
    info(quiet, "wrote " + std::to_string(t.n_rows()) + " rows to " + a.str("out"));
  }
  return 0;
}

}  // namespace cuvi::cli
