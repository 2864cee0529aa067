// RegularizedVI configuration: validation (regularizedvi.md §2-3), the string map stored in model files,
// per-modality parameter names (§10 state-dict inventory) and a readable summary.
#include "models/regularized_vi/regvi_config.h"

#include <sstream>

#include "engine/error.h"

namespace cuvi::models {
namespace {

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}
std::vector<int64_t> split_ints(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ','))
    if (!tok.empty()) v.push_back(std::stoll(tok));
  return v;
}
std::string num(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}
int64_t sum(const std::vector<int64_t>& v) {
  int64_t s = 0;
  for (int64_t x : v) s += x;
  return s;
}
bool one_of(const std::string& v, std::initializer_list<const char*> ok) {
  for (const char* o : ok)
    if (v == o) return true;
  return false;
}

}  // namespace

int64_t fc_onehot_width(const std::vector<int64_t>& n_cats) {
  int64_t w = 0;
  for (int64_t c : n_cats) w += c > 1 ? c : 0;
  return w;
}

RegviConfig RegviConfig::single_modal(int64_t n_genes) {
  RegviConfig c;
  RegviModality m;
  m.n_features = n_genes;
  c.modalities.push_back(m);
  return c;
}

int64_t RegviConfig::total_latent() const {
  if (latent_mode == "weighted_mean" && !modalities.empty()) return modalities[0].n_latent;
  int64_t k = 0;
  for (const RegviModality& m : modalities) k += m.n_latent;
  return k;
}
int64_t RegviConfig::total_features() const {
  int64_t f = 0;
  for (const RegviModality& m : modalities) f += m.n_features;
  return f;
}
int64_t RegviConfig::total_ambient() const { return sum(n_cats_ambient); }
int64_t RegviConfig::total_scaling() const { return sum(n_cats_scaling); }

void RegviConfig::validate() const {
  const std::string cls = multimodal ? "RegularizedMultimodalVI" : "AmbientRegularizedSCVI";
  CUVI_CHECK(!modalities.empty(), cls + ": no modality");
  CUVI_CHECK(multimodal || modalities.size() == 1, "AmbientRegularizedSCVI has exactly one count matrix");
  CUVI_CHECK(one_of(latent_mode, {"concatenation", "weighted_mean", "single_encoder"}),
             cls + ": latent_mode must be concatenation, weighted_mean or single_encoder, got '" + latent_mode + "'");
  CUVI_CHECK(multimodal || latent_mode == "concatenation", "latent_mode applies to RegularizedMultimodalVI only");
  for (const auto& [name, mult] : modality_lr_multiplier) {
    bool known = false;
    for (const RegviModality& m : modalities) known = known || (multimodal && m.name == name);
    CUVI_CHECK(known, "modality_lr_multiplier names unknown modality '" + name + "'");
    CUVI_CHECK(mult > 0, "modality_lr_multiplier of '" + name + "' must be > 0");
  }
  CUVI_CHECK(one_of(modality_weights, {"equal", "universal", "cell"}),
             "modality_weights must be equal, universal or cell, got '" + modality_weights + "'");
  if (latent_mode == "weighted_mean")
    for (const RegviModality& m : modalities)
      CUVI_CHECK(m.n_latent == modalities[0].n_latent,
                 "latent_mode weighted_mean needs the same n_latent for every modality");
  CUVI_CHECK(!(latent_mode == "single_encoder" && modalities.size() > 1 && n_continuous_cov > 0),
             "latent_mode single_encoder takes no continuous covariates with several modalities (regularizedvi sizes "
             "its joint encoder for one copy of them but feeds one per modality)");
  CUVI_CHECK(!(multimodal && use_size_factor), "size_factor_key is single-modal only");
  for (const RegviModality& m : modalities) {
    const std::string who = m.name.empty() ? cls : "modality '" + m.name + "'";
    CUVI_CHECK(m.n_features > 0, who + ": no features");
    CUVI_CHECK(m.n_hidden > 0 && m.n_latent > 0 && m.n_layers > 0, who + ": n_hidden, n_latent and n_layers must be >= 1");
    const bool ok = multimodal ? one_of(m.dispersion, {"gene", "gene-batch", "region", "region-batch"})
                               : one_of(m.dispersion, {"gene", "gene-batch"});
    CUVI_CHECK(ok, who + ": dispersion '" + m.dispersion + "' must be one of gene, gene-batch" +
                       (multimodal ? ", region, region-batch" : ""));
    CUVI_CHECK(one_of(m.dispersion_prior_direction, {"inverse_sqrt", "sqrt"}),
               who + ": dispersion_prior_direction must be inverse_sqrt or sqrt");
    CUVI_CHECK(m.dispersion_hyper_prior_mean > 0, who + ": dispersion_hyper_prior_mean must be > 0");
    CUVI_CHECK(m.dispersion_hyper_prior_alpha > 0, who + ": dispersion_hyper_prior_alpha must be > 0");
    CUVI_CHECK(m.decoder_bias_multiplier > 0, who + ": decoder_bias_multiplier must be > 0");
    CUVI_CHECK(m.centering_sensitivity >= 0, who + ": library_log_means_centering_sensitivity must be > 0");
  }
  CUVI_CHECK(one_of(use_batch_norm, {"none", "encoder", "decoder", "both"}), "use_batch_norm must be none, encoder, decoder or both");
  CUVI_CHECK(one_of(use_layer_norm, {"none", "encoder", "decoder", "both"}), "use_layer_norm must be none, encoder, decoder or both");
  CUVI_CHECK(one_of(init_decoder_bias, {"mean", "topN", "none"}), "init_decoder_bias must be mean, topN or none");
  CUVI_CHECK(one_of(dispersion_init, {"prior", "data"}), "dispersion_init must be prior or data");
  CUVI_CHECK(dropout_rate >= 0 && dropout_rate < 1, "dropout_rate must be in [0, 1)");
  CUVI_CHECK(library_n_hidden > 0, "library_n_hidden must be >= 1");
  CUVI_CHECK(n_dispersion_cats >= 1 && n_library_cats >= 1, "dispersion and library groups need >= 1 category");
  CUVI_CHECK(library_obs_w_prior_rate > 0, "library_obs_w_prior_rate must be > 0");
  CUVI_CHECK(additive_bg_prior_alpha > 0 && additive_bg_prior_beta > 0, "additive background prior parameters must be > 0");
  CUVI_CHECK(feature_scaling_prior_alpha > 0 && feature_scaling_prior_beta > 0, "feature scaling prior parameters must be > 0");
  CUVI_CHECK(decoder_weight_l2 >= 0 && decoder_cov_weight_l2 >= 0, "decoder L2 weights must be >= 0");
  for (const auto* v : {&n_cats_nn, &n_cats_encoder, &n_cats_ambient, &n_cats_scaling})
    for (int64_t c : *v) CUVI_CHECK(c >= 1, "every categorical key needs >= 1 category");
}

RegviNames RegviNames::of(const RegviConfig& c, const RegviModality& m) {
  RegviNames n;
  if (!c.multimodal) {
    n.z_encoder = "z_encoder";
    n.l_encoder = "l_encoder";
    n.decoder = "decoder";
    n.px_r_mu = "px_r_mu";
    n.px_r_log_sigma = "px_r_log_sigma";
    n.rate_raw = "dispersion_prior_rate_raw";
    n.background = "additive_background";
    n.scaling = "feature_scaling";
    n.w_mu = "library_obs_w_mu";
    n.w_log_sigma = "library_obs_w_log_sigma";
    n.lib_means = "library_log_means";
    n.lib_vars = "library_log_vars";
    n.lib_global_mean = "library_global_log_mean";
    n.lib_log_sens = "library_log_sensitivity";
    return n;
  }
  const std::string& s = m.name;
  n.z_encoder = "encoders." + s;
  n.l_encoder = "l_encoders." + s;
  n.decoder = "decoders." + s;
  n.px_r_mu = "px_r_mu." + s;
  n.px_r_log_sigma = "px_r_log_sigma." + s;
  n.rate_raw = "dispersion_prior_rate_raw." + s;
  n.background = "additive_background." + s;
  n.scaling = "feature_scaling." + s;
  n.w_mu = "library_obs_w_mu." + s;
  n.w_log_sigma = "library_obs_w_log_sigma." + s;
  n.lib_means = "library_log_means_" + s;
  n.lib_vars = "library_log_vars_" + s;
  n.lib_global_mean = "library_global_log_mean_" + s;
  n.lib_log_sens = "library_log_sensitivity_" + s;
  return n;
}

std::map<std::string, std::string> RegviConfig::to_map() const {
  std::map<std::string, std::string> m;
  m["model"] = multimodal ? "RegularizedMultimodalVI" : "AmbientRegularizedSCVI";
  m["n_modalities"] = std::to_string(modalities.size());
  for (size_t i = 0; i < modalities.size(); ++i) {
    const RegviModality& d = modalities[i];
    const std::string p = "modality" + std::to_string(i) + ".";
    m[p + "name"] = d.name;
    m[p + "n_features"] = std::to_string(d.n_features);
    m[p + "n_hidden"] = std::to_string(d.n_hidden);
    m[p + "n_latent"] = std::to_string(d.n_latent);
    m[p + "n_layers"] = std::to_string(d.n_layers);
    m[p + "dispersion"] = d.dispersion;
    m[p + "additive_background"] = d.additive_background ? "1" : "0";
    m[p + "feature_scaling"] = d.feature_scaling ? "1" : "0";
    m[p + "dispersion_hyper_prior_mean"] = num(d.dispersion_hyper_prior_mean);
    m[p + "dispersion_hyper_prior_alpha"] = num(d.dispersion_hyper_prior_alpha);
    m[p + "dispersion_prior_direction"] = d.dispersion_prior_direction;
    m[p + "library_log_vars_weight"] = num(d.library_log_vars_weight);
    m[p + "centering_sensitivity"] = num(d.centering_sensitivity);
    m[p + "decoder_bias_multiplier"] = num(d.decoder_bias_multiplier);
  }
  m["latent_mode"] = latent_mode;
  m["modality_weights"] = modality_weights;
  std::string lr;
  for (const auto& [name, mult] : modality_lr_multiplier) lr += (lr.empty() ? "" : ",") + name + "=" + num(mult);
  m["modality_lr_multiplier"] = lr;
  m["n_cats_nn"] = join(n_cats_nn);
  m["n_cats_encoder"] = join(n_cats_encoder);
  m["n_cats_ambient"] = join(n_cats_ambient);
  m["n_cats_scaling"] = join(n_cats_scaling);
  m["n_dispersion_cats"] = std::to_string(n_dispersion_cats);
  m["n_library_cats"] = std::to_string(n_library_cats);
  m["n_continuous_cov"] = std::to_string(n_continuous_cov);
  m["use_size_factor"] = use_size_factor ? "1" : "0";
  m["dropout_rate"] = num(dropout_rate);
  m["library_n_hidden"] = std::to_string(library_n_hidden);
  m["use_batch_norm"] = use_batch_norm;
  m["use_layer_norm"] = use_layer_norm;
  m["deeply_inject_covariates"] = deeply_inject_covariates ? "1" : "0";
  m["residual_library_encoder"] = residual_library_encoder ? "1" : "0";
  m["library_obs_w_prior_rate"] = num(library_obs_w_prior_rate);
  m["regularise_dispersion"] = regularise_dispersion ? "1" : "0";
  m["regularise_background"] = regularise_background ? "1" : "0";
  m["additive_bg_prior_alpha"] = num(additive_bg_prior_alpha);
  m["additive_bg_prior_beta"] = num(additive_bg_prior_beta);
  m["feature_scaling_prior_alpha"] = num(feature_scaling_prior_alpha);
  m["feature_scaling_prior_beta"] = num(feature_scaling_prior_beta);
  m["decoder_weight_l2"] = num(decoder_weight_l2);
  m["decoder_cov_weight_l2"] = num(decoder_cov_weight_l2);
  m["init_decoder_bias"] = init_decoder_bias;
  m["bg_init_gene_fraction"] = num(bg_init_gene_fraction);
  m["additive_bg_init_std"] = num(additive_bg_init_std);
  m["dispersion_init"] = dispersion_init;
  m["px_r_init_std"] = num(px_r_init_std);
  return m;
}

RegviConfig RegviConfig::from_map(const std::map<std::string, std::string>& m) {
  auto get = [&](const std::string& k) -> const std::string& {
    auto it = m.find(k);
    CUVI_CHECK(it != m.end(), "RegularizedVI model configuration lacks '" + k + "'");
    return it->second;
  };
  auto b = [&](const std::string& k) { return get(k) == "1"; };
  auto d = [&](const std::string& k) { return std::stod(get(k)); };
  auto i = [&](const std::string& k) { return std::stoll(get(k)); };
  RegviConfig c;
  c.multimodal = get("model") == "RegularizedMultimodalVI";
  const int64_t M = i("n_modalities");
  for (int64_t k = 0; k < M; ++k) {
    const std::string p = "modality" + std::to_string(k) + ".";
    RegviModality x;
    x.name = get(p + "name");
    x.n_features = i(p + "n_features");
    x.n_hidden = i(p + "n_hidden");
    x.n_latent = i(p + "n_latent");
    x.n_layers = int(i(p + "n_layers"));
    x.dispersion = get(p + "dispersion");
    x.additive_background = b(p + "additive_background");
    x.feature_scaling = b(p + "feature_scaling");
    x.dispersion_hyper_prior_mean = d(p + "dispersion_hyper_prior_mean");
    x.dispersion_hyper_prior_alpha = d(p + "dispersion_hyper_prior_alpha");
    x.dispersion_prior_direction = get(p + "dispersion_prior_direction");
    x.library_log_vars_weight = d(p + "library_log_vars_weight");
    x.centering_sensitivity = d(p + "centering_sensitivity");
    if (m.count(p + "decoder_bias_multiplier")) x.decoder_bias_multiplier = d(p + "decoder_bias_multiplier");
    c.modalities.push_back(x);
  }
  c.latent_mode = get("latent_mode");
  auto opt = [&](const std::string& k, const std::string& d) {
    auto it = m.find(k);
    return it == m.end() ? d : it->second;
  };
  c.modality_weights = opt("modality_weights", "equal");
  {
    std::stringstream ss(opt("modality_lr_multiplier", ""));
    std::string tok;
    while (std::getline(ss, tok, ','))
      if (!tok.empty()) c.modality_lr_multiplier[tok.substr(0, tok.find('='))] = std::stod(tok.substr(tok.find('=') + 1));
  }
  c.n_cats_nn = split_ints(get("n_cats_nn"));
  c.n_cats_encoder = split_ints(get("n_cats_encoder"));
  c.n_cats_ambient = split_ints(get("n_cats_ambient"));
  c.n_cats_scaling = split_ints(get("n_cats_scaling"));
  c.n_dispersion_cats = i("n_dispersion_cats");
  c.n_library_cats = i("n_library_cats");
  c.n_continuous_cov = i("n_continuous_cov");
  c.use_size_factor = b("use_size_factor");
  c.dropout_rate = d("dropout_rate");
  c.library_n_hidden = i("library_n_hidden");
  c.use_batch_norm = get("use_batch_norm");
  c.use_layer_norm = get("use_layer_norm");
  c.deeply_inject_covariates = b("deeply_inject_covariates");
  c.residual_library_encoder = b("residual_library_encoder");
  c.library_obs_w_prior_rate = d("library_obs_w_prior_rate");
  c.regularise_dispersion = b("regularise_dispersion");
  c.regularise_background = b("regularise_background");
  c.additive_bg_prior_alpha = d("additive_bg_prior_alpha");
  c.additive_bg_prior_beta = d("additive_bg_prior_beta");
  c.feature_scaling_prior_alpha = d("feature_scaling_prior_alpha");
  c.feature_scaling_prior_beta = d("feature_scaling_prior_beta");
  c.decoder_weight_l2 = d("decoder_weight_l2");
  c.decoder_cov_weight_l2 = d("decoder_cov_weight_l2");
  c.init_decoder_bias = get("init_decoder_bias");
  c.bg_init_gene_fraction = d("bg_init_gene_fraction");
  c.additive_bg_init_std = d("additive_bg_init_std");
  c.dispersion_init = get("dispersion_init");
  c.px_r_init_std = d("px_r_init_std");
  c.validate();
  return c;
}

std::string RegviConfig::describe() const {
  std::ostringstream o;
  o << (multimodal ? "RegularizedMultimodalVI" : "AmbientRegularizedSCVI") << " (" << latent_mode
    << (latent_mode == "weighted_mean" ? ", " + modality_weights + " weights" : std::string()) << ")\n";
  for (const RegviModality& m : modalities)
    o << "  " << (m.name.empty() ? "counts" : m.name) << ": " << m.n_features << " features, n_hidden " << m.n_hidden
      << ", n_latent " << m.n_latent << ", n_layers " << m.n_layers << ", dispersion " << m.dispersion
      << (m.additive_background ? ", ambient background" : "") << (m.feature_scaling ? ", feature scaling" : "") << "\n";
  o << "  ambient categories " << total_ambient() << ", scaling rows " << (total_scaling() ? total_scaling() : 1)
    << ", dispersion groups " << n_dispersion_cats << ", library groups " << n_library_cats
    << ", decoder one-hots " << fc_onehot_width(n_cats_nn) << ", continuous " << n_continuous_cov << "\n";
  o << "  library: " << (use_size_factor ? "size factor" : "learned") << ", decoder_weight_l2 " << decoder_weight_l2
    << ", dropout " << dropout_rate;
  return o.str();
}

}  // namespace cuvi::models
