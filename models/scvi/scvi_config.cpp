// ScviConfig validation, serialisation to string maps (model files) and the covariate layout.
#include "models/scvi/scvi_config.h"

#include <set>
#include <sstream>

#include "engine/error.h"

namespace cuvi::models {

ScviConfig ScviConfig::linear_scvi() {
  ScviConfig c;
  c.model = "LinearSCVI";
  c.gene_likelihood = "nb";
  c.use_observed_lib_size = false;
  c.use_batch_norm = "both";
  return c;
}

static void one_of(const std::string& opt, const std::string& v, std::set<std::string> allowed) {
  if (allowed.count(v)) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  fail("--" + opt + " '" + v + "' is not one of: " + list);
}

void ScviConfig::validate() const {
  one_of("model", model, {"SCVI", "LinearSCVI"});
  one_of("dispersion", dispersion, {"gene", "gene-batch", "gene-label", "gene-cell"});
  one_of("gene-likelihood", gene_likelihood, {"zinb", "nb", "poisson"});
  one_of("latent-distribution", latent_distribution, {"normal", "ln"});
  one_of("use-batch-norm", use_batch_norm, {"none", "encoder", "decoder", "both"});
  one_of("use-layer-norm", use_layer_norm, {"none", "encoder", "decoder", "both"});
  CUVI_CHECK(n_genes > 0, "the data have no genes");
  CUVI_CHECK(n_hidden > 0 && n_latent > 0 && n_layers > 0, "--n-hidden, --n-latent and --n-layers must be positive");
  CUVI_CHECK(dropout_rate >= 0 && dropout_rate < 1, "--dropout-rate must be in [0, 1)");
  CUVI_CHECK(n_batch >= 1 && n_labels >= 1, "at least one batch and one label category are needed");
  for (int64_t n : n_cats_per_cov) CUVI_CHECK(n >= 1, "a categorical covariate has no category");
  if (model == "LinearSCVI") {
    CUVI_CHECK(dispersion != "gene-cell", "LinearSCVI does not support gene-cell dispersion");
    CUVI_CHECK(n_cats_per_cov.empty() && n_continuous_cov == 0,
               "LinearSCVI takes no extra covariates (batch only), as in scvi-tools");
  }
}

static std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

std::map<std::string, std::string> ScviConfig::to_map() const {
  std::ostringstream dr, ve;
  dr.precision(17);
  ve.precision(17);
  dr << dropout_rate;
  ve << var_eps;
  return {{"model", model},
          {"n_genes", std::to_string(n_genes)},
          {"n_batch", std::to_string(n_batch)},
          {"n_labels", std::to_string(n_labels)},
          {"n_cats_per_cov", join(n_cats_per_cov)},
          {"n_continuous_cov", std::to_string(n_continuous_cov)},
          {"n_hidden", std::to_string(n_hidden)},
          {"n_latent", std::to_string(n_latent)},
          {"n_layers", std::to_string(n_layers)},
          {"dropout_rate", dr.str()},
          {"dispersion", dispersion},
          {"gene_likelihood", gene_likelihood},
          {"latent_distribution", latent_distribution},
          {"use_observed_lib_size", use_observed_lib_size ? "1" : "0"},
          {"encode_covariates", encode_covariates ? "1" : "0"},
          {"deeply_inject_covariates", deeply_inject_covariates ? "1" : "0"},
          {"use_batch_norm", use_batch_norm},
          {"use_layer_norm", use_layer_norm},
          {"var_eps", ve.str()}};
}

ScviConfig ScviConfig::from_map(const std::map<std::string, std::string>& m) {
  auto get = [&](const char* k) {
    auto it = m.find(k);
    CUVI_CHECK(it != m.end(), std::string("model configuration lacks '") + k + "'");
    return it->second;
  };
  ScviConfig c;
  c.model = get("model");
  c.n_genes = std::stoll(get("n_genes"));
  c.n_batch = std::stoll(get("n_batch"));
  c.n_labels = std::stoll(get("n_labels"));
  std::stringstream cats(get("n_cats_per_cov"));
  for (std::string t; std::getline(cats, t, ',');)
    if (!t.empty()) c.n_cats_per_cov.push_back(std::stoll(t));
  c.n_continuous_cov = std::stoll(get("n_continuous_cov"));
  c.n_hidden = std::stoll(get("n_hidden"));
  c.n_latent = std::stoll(get("n_latent"));
  c.n_layers = std::stoi(get("n_layers"));
  c.dropout_rate = std::stod(get("dropout_rate"));
  c.dispersion = get("dispersion");
  c.gene_likelihood = get("gene_likelihood");
  c.latent_distribution = get("latent_distribution");
  c.use_observed_lib_size = get("use_observed_lib_size") == "1";
  c.encode_covariates = get("encode_covariates") == "1";
  c.deeply_inject_covariates = get("deeply_inject_covariates") == "1";
  c.use_batch_norm = get("use_batch_norm");
  c.use_layer_norm = get("use_layer_norm");
  c.var_eps = std::stod(get("var_eps"));
  c.validate();
  return c;
}

std::string ScviConfig::describe() const {
  std::ostringstream s;
  s << model << ": " << n_genes << " genes, " << n_batch << " batch" << (n_batch == 1 ? "" : "es") << ", "
    << n_labels << " label" << (n_labels == 1 ? "" : "s") << "\n"
    << "  n_hidden " << n_hidden << ", n_latent " << n_latent << ", n_layers " << n_layers << ", dropout_rate "
    << dropout_rate << "\n"
    << "  gene_likelihood " << gene_likelihood << ", dispersion " << dispersion << ", latent_distribution "
    << latent_distribution << "\n"
    << "  library " << (use_observed_lib_size ? "observed" : "learned (per-batch prior)") << ", use_batch_norm "
    << use_batch_norm << ", use_layer_norm " << use_layer_norm << "\n"
    << "  covariates: " << n_cats_per_cov.size() << " categorical [" << join(n_cats_per_cov) << "], "
    << n_continuous_cov << " continuous; encode_covariates " << encode_covariates
    << ", deeply_inject_covariates " << deeply_inject_covariates;
  return s.str();
}

CovariateLayout CovariateLayout::of(const ScviConfig& c) {
  std::vector<int64_t> sizes{c.n_batch};
  for (int64_t n : c.n_cats_per_cov) sizes.push_back(n);
  return of_sizes(sizes);
}

CovariateLayout CovariateLayout::of_sizes(const std::vector<int64_t>& sizes) {
  CovariateLayout l;
  l.sizes = sizes;
  for (int64_t n : l.sizes) {
    if (n > 1) {
      l.offsets.push_back(l.columns);
      l.columns += n;
      ++l.n_codes;
    } else {
      l.offsets.push_back(-1);
    }
  }
  return l;
}

void CovariateLayout::encode(int32_t batch, const int32_t* cat_covs, int32_t* out) const {
  int64_t j = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    if (offsets[k] < 0) continue;
    const int32_t code = k == 0 ? batch : cat_covs[k - 1];
    out[j++] = code < 0 ? -1 : int32_t(offsets[k] + code);
  }
}

}  // namespace cuvi::models
