// MultiviConfig: scvi-tools' size rules, validation, serialisation to string maps (model files).
#include "models/multivi/multivi_config.h"

#include <cmath>
#include <set>
#include <sstream>

#include "engine/error.h"

namespace cuvi::models {
namespace {

void one_of(const std::string& opt, const std::string& v, std::set<std::string> allowed) {
  if (allowed.count(v)) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  fail("--" + opt + " '" + v + "' is not one of: " + list);
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

std::string exact(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

void MultiviConfig::resolve() {
  if (n_hidden == 0) {
    const int64_t n = n_regions > 0 ? n_regions : n_genes;
    n_hidden = std::min<int64_t>(128, int64_t(std::sqrt(double(n))));
  }
  if (n_latent == 0) n_latent = int64_t(std::sqrt(double(n_hidden)));
  validate();
}

void MultiviConfig::validate() const {
  one_of("gene-likelihood", gene_likelihood, {"zinb", "nb", "poisson"});
  CUVI_CHECK(dispersion == "gene", "--dispersion '" + dispersion +
                                       "': MULTIVI supports 'gene' only (scvi-tools' MULTIVAE loss uses exp(px_r) "
                                       "per gene whatever the setting)");
  one_of("latent-distribution", latent_distribution, {"normal", "ln"});
  one_of("use-batch-norm", use_batch_norm, {"none", "encoder", "decoder", "both"});
  one_of("use-layer-norm", use_layer_norm, {"none", "encoder", "decoder", "both"});
  one_of("modality-weights", modality_weights, {"equal", "universal", "cell"});
  one_of("modality-penalty", modality_penalty, {"Jeffreys", "MMD", "None"});
  CUVI_CHECK(n_genes > 0, "MULTIVI needs gene expression features (the data have no genes)");
  CUVI_CHECK(n_regions > 0, "MULTIVI needs accessibility features (the data have no regions)");
  CUVI_CHECK(n_hidden > 0 && n_latent > 0, "--n-hidden and --n-latent must be positive");
  CUVI_CHECK(n_layers_encoder > 0 && n_layers_decoder > 0, "--n-layers-encoder and --n-layers-decoder must be positive");
  CUVI_CHECK(dropout_rate >= 0 && dropout_rate < 1, "--dropout-rate must be in [0, 1)");
  CUVI_CHECK(n_batch >= 1, "at least one batch category is needed");
  for (int64_t n : n_cats_per_cov) CUVI_CHECK(n >= 1, "a categorical covariate has no category");
  CUVI_CHECK(modality_weights != "cell" || n_obs > 0, "per-cell modality weights need the number of training cells");
  CUVI_CHECK(std::isfinite(scale_adversarial_loss) && scale_adversarial_loss >= 0,
             "--scale-adversarial-loss must be a non-negative number");
}

CovariateLayout MultiviConfig::layout() const {
  std::vector<int64_t> sizes{n_batch};
  sizes.insert(sizes.end(), n_cats_per_cov.begin(), n_cats_per_cov.end());
  return CovariateLayout::of_sizes(sizes);
}

std::map<std::string, std::string> MultiviConfig::to_map() const {
  return {{"model", "MULTIVI"},
          {"n_genes", std::to_string(n_genes)},
          {"n_regions", std::to_string(n_regions)},
          {"n_batch", std::to_string(n_batch)},
          {"n_cats_per_cov", join(n_cats_per_cov)},
          {"n_continuous_cov", std::to_string(n_continuous_cov)},
          {"n_obs", std::to_string(n_obs)},
          {"n_hidden", std::to_string(n_hidden)},
          {"n_latent", std::to_string(n_latent)},
          {"n_layers_encoder", std::to_string(n_layers_encoder)},
          {"n_layers_decoder", std::to_string(n_layers_decoder)},
          {"dropout_rate", exact(dropout_rate)},
          {"region_factors", region_factors ? "1" : "0"},
          {"gene_likelihood", gene_likelihood},
          {"dispersion", dispersion},
          {"use_batch_norm", use_batch_norm},
          {"use_layer_norm", use_layer_norm},
          {"latent_distribution", latent_distribution},
          {"deeply_inject_covariates", deeply_inject_covariates ? "1" : "0"},
          {"encode_covariates", encode_covariates ? "1" : "0"},
          {"modality_weights", modality_weights},
          {"modality_penalty", modality_penalty},
          {"adversarial_mixing", adversarial_mixing ? "1" : "0"},
          {"scale_adversarial_loss", exact(scale_adversarial_loss)}};
}

MultiviConfig MultiviConfig::from_map(const std::map<std::string, std::string>& m) {
  auto get = [&](const char* k) {
    auto it = m.find(k);
    CUVI_CHECK(it != m.end(), std::string("model configuration lacks '") + k + "'");
    return it->second;
  };
  CUVI_CHECK(get("model") == "MULTIVI", "model configuration is '" + get("model") + "', not MULTIVI");
  MultiviConfig c;
  c.n_genes = std::stoll(get("n_genes"));
  c.n_regions = std::stoll(get("n_regions"));
  c.n_batch = std::stoll(get("n_batch"));
  std::stringstream cats(get("n_cats_per_cov"));
  for (std::string t; std::getline(cats, t, ',');)
    if (!t.empty()) c.n_cats_per_cov.push_back(std::stoll(t));
  c.n_continuous_cov = std::stoll(get("n_continuous_cov"));
  c.n_obs = std::stoll(get("n_obs"));
  c.n_hidden = std::stoll(get("n_hidden"));
  c.n_latent = std::stoll(get("n_latent"));
  c.n_layers_encoder = std::stoi(get("n_layers_encoder"));
  c.n_layers_decoder = std::stoi(get("n_layers_decoder"));
  c.dropout_rate = std::stod(get("dropout_rate"));
  c.region_factors = get("region_factors") == "1";
  c.gene_likelihood = get("gene_likelihood");
  c.dispersion = get("dispersion");
  c.use_batch_norm = get("use_batch_norm");
  c.use_layer_norm = get("use_layer_norm");
  c.latent_distribution = get("latent_distribution");
  c.deeply_inject_covariates = get("deeply_inject_covariates") == "1";
  c.encode_covariates = get("encode_covariates") == "1";
  c.modality_weights = get("modality_weights");
  c.modality_penalty = get("modality_penalty");
  c.adversarial_mixing = get("adversarial_mixing") == "1";
  c.scale_adversarial_loss = std::stod(get("scale_adversarial_loss"));
  c.validate();
  return c;
}

std::string MultiviConfig::describe() const {
  std::ostringstream s;
  s << "MULTIVI: " << n_genes << " genes, " << n_regions << " regions, " << n_batch << " batch"
    << (n_batch == 1 ? "" : "es") << "\n"
    << "  n_hidden " << n_hidden << ", n_latent " << n_latent << ", n_layers_encoder " << n_layers_encoder
    << ", n_layers_decoder " << n_layers_decoder << ", dropout_rate " << dropout_rate << "\n"
    << "  gene_likelihood " << gene_likelihood << ", dispersion " << dispersion << ", region_factors "
    << region_factors << ", latent_distribution " << latent_distribution << "\n"
    << "  modality_weights " << modality_weights << ", modality_penalty " << modality_penalty
    << ", use_batch_norm " << use_batch_norm << ", use_layer_norm " << use_layer_norm << "\n"
    << "  covariates: " << n_cats_per_cov.size() << " categorical [" << join(n_cats_per_cov) << "], "
    << n_continuous_cov << " continuous; encode_covariates " << encode_covariates
    << ", deeply_inject_covariates " << deeply_inject_covariates << "\n"
    << "  adversarial batch classifier " << (adversarial_classifier() ? "on" : "off")
    << (adversarial_mixing && n_batch == 1 ? " (one batch)" : "") << ", scale " << scale_adversarial_loss;
  return s.str();
}

}  // namespace cuvi::models
