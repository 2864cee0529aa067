// cuvi train regularized-scvi | regularized-multimodal: regularizedvi's AmbientRegularizedSCVI and
// RegularizedMultimodalVI (regularizedvi.md §1-8) with its purpose-based covariate keys and defaults,
// trained through the shared trainer (scvi TrainingPlan defaults) and written as a model file.
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "engine/error.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_options.h"
#include "tools/workflow/regvi_file.h"
#include "tools/workflow/scvi_train.h"

namespace cuvi::cli {
namespace {

const char* kHelpKeys =
    "covariate keys (regularizedvi's setup_anndata / setup_mudata names):\n"
    "  --batch-key COL                      legacy key: ambient = [COL], dispersion = library size = COL\n"
    "                                       (cannot be combined with the three keys below)\n"
    "  --ambient-covariate-keys COL...      additive ambient background per category (summed over keys)\n"
    "  --dispersion-key COL                 dispersion groups (gene-batch)\n"
    "  --library-size-key COL               library-size prior groups\n"
    "                                       Without any of these (no batch column at all) ambient, dispersion\n"
    "                                       and library size use one group; regularizedvi's single-modal\n"
    "                                       setup_anndata raises a ValueError instead.\n"
    "  --nn-conditioning-covariate-keys COL...   one-hots injected into the decoder\n"
    "  --feature-scaling-covariate-keys COL...   per-feature scaling (default: the nn-conditioning keys)\n"
    "  --encoder-covariate-keys COL...      one-hots into the encoders (default none)\n"
    "  --continuous-covariate-keys COL...   (= --nn-continuous-covariate-keys) into encoders and decoder\n"
    "  --size-factor-key COL                regularized-scvi only: library = log(COL), no library prior\n"
    "  --layer NAME                         counts (default X)\n";

const char* kHelpModel =
    "model (regularizedvi's names and model-class defaults; multimodal sizes as NAME=V,NAME=V or one V):\n"
    "  --n-hidden 128 --n-latent 10 --n-layers 1 --dropout-rate 0.1 --library-n-hidden 16\n"
    "  --dispersion gene-batch|gene (multimodal also region, region-batch)\n"
    "  --latent-mode concatenation|weighted_mean|single_encoder --modality-weights equal|universal|cell (multimodal)\n"
    "  --modality-lr-multiplier atac=2   per-modality learning rate (MultimodalTrainingPlan)\n"
    "  --use-batch-norm none --use-layer-norm both --deeply-inject-covariates true\n"
    "  --use-additive-background true --use-feature-scaling true (regularized-scvi)\n"
    "  --additive-background-modalities rna --feature-scaling-modalities atac   (regularized-multimodal)\n"
    "  --library-log-vars-weight 0.5 --library-log-means-centering-sensitivity S\n"
    "  --residual-library-encoder true --library-obs-w-prior-rate 1\n"
    "  --regularise-dispersion true --dispersion-hyper-prior-mean 0.3333 --dispersion-hyper-prior-alpha 9\n"
    "  --dispersion-prior-direction inverse_sqrt|sqrt\n"
    "  --regularise-background false --additive-bg-prior-alpha 1 --additive-bg-prior-beta 100\n"
    "  --feature-scaling-prior-alpha 200 --feature-scaling-prior-beta 200\n"
    "  --decoder-weight-l2 0.1 --decoder-cov-weight-l2 0\n"
    "  --init-decoder-bias mean|topN|none --decoder-bias-multiplier 1 --bg-init-gene-fraction 0.2|none\n"
    "  --additive-bg-init-std 0.01\n"
    "  --dispersion-init prior|data\n"
    "early stopping (--early-stopping): min delta defaults to n_features * 2e-4, as regularizedvi's train().\n";

const std::set<std::string> kKeyOptions = {"layer", "batch-key", "size-factor-key", "dispersion-key",
                                           "library-size-key"};
const std::set<std::string> kKeyLists = {"ambient-covariate-keys", "nn-conditioning-covariate-keys",
                                         "feature-scaling-covariate-keys", "encoder-covariate-keys",
                                         "continuous-covariate-keys", "nn-continuous-covariate-keys",
                                         "additive-background-modalities", "feature-scaling-modalities"};
const std::set<std::string> kModelOptions = {
    "n-hidden", "n-latent", "n-layers", "dropout-rate", "library-n-hidden", "dispersion", "latent-mode", "modality-weights", "modality-lr-multiplier",
    "use-batch-norm", "use-layer-norm", "deeply-inject-covariates", "use-additive-background", "use-feature-scaling",
    "library-log-vars-weight", "library-log-means-centering-sensitivity", "residual-library-encoder",
    "library-obs-w-prior-rate", "regularise-dispersion", "dispersion-hyper-prior-mean",
    "dispersion-hyper-prior-alpha", "dispersion-prior-direction", "regularise-background", "additive-bg-prior-alpha",
    "additive-bg-prior-beta", "feature-scaling-prior-alpha", "feature-scaling-prior-beta", "decoder-weight-l2",
    "decoder-cov-weight-l2", "decoder-bias-multiplier", "init-decoder-bias", "bg-init-gene-fraction", "additive-bg-init-std", "dispersion-init"};

// "512" or "rna=512,atac=256": the value for modality `m` (every modality must be covered).
std::string per_modality(const Args& a, const std::string& key, const std::string& m, const std::string& fallback) {
  if (!a.has(key)) return fallback;
  const std::string v = a.str(key);
  if (v.find('=') == std::string::npos) return v;
  std::stringstream ss(v);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    const size_t eq = tok.find('=');
    CUVI_CHECK(eq != std::string::npos, "--" + key + ": expected NAME=VALUE pairs, got '" + tok + "'");
    if (tok.substr(0, eq) == m) return tok.substr(eq + 1);
  }
  fail("--" + key + " gives no value for modality '" + m + "' (a dict must cover every modality)");
}
int64_t to_int(const std::string& key, const std::string& v) {
  try {
    size_t used = 0;
    const long long x = std::stoll(v, &used);
    if (used == v.size()) return x;
  } catch (...) {
  }
  fail("--" + key + ": '" + v + "' is not an integer");
}

workflow::RegviKeys keys_from(const Args& a, bool multimodal) {
  workflow::RegviKeys k;
  k.batch_key = a.str("batch-key");
  k.size_factor_key = a.str("size-factor-key");
  CUVI_CHECK(!(multimodal && !k.size_factor_key.empty()), "--size-factor-key: regularized-scvi only");
  k.dispersion_key = a.str("dispersion-key");
  k.library_size_key = a.str("library-size-key");
  k.ambient_covariate_keys = a.list("ambient-covariate-keys");
  k.nn_conditioning_covariate_keys = a.list("nn-conditioning-covariate-keys");
  k.feature_scaling_set = a.has("feature-scaling-covariate-keys");
  k.feature_scaling_covariate_keys = a.list("feature-scaling-covariate-keys");
  k.encoder_covariate_keys = a.list("encoder-covariate-keys");
  k.continuous_covariate_keys = a.list("continuous-covariate-keys");
  for (const std::string& c : a.list("nn-continuous-covariate-keys")) k.continuous_covariate_keys.push_back(c);
  (void)k.resolved();  // batch_key together with purpose keys fails here, before the data load
  return k;
}

bool in_list(const std::vector<std::string>& v, const std::string& x) {
  for (const std::string& s : v)
    if (s == x) return true;
  return false;
}

models::RegviConfig config_from(const Args& a, const std::vector<std::string>& names, bool multimodal) {
  models::RegviConfig c;
  c.multimodal = multimodal;
  const std::vector<std::string> bg = a.has("additive-background-modalities") ? a.list("additive-background-modalities")
                                                                             : std::vector<std::string>{"rna"};
  const std::vector<std::string> fs = a.has("feature-scaling-modalities") ? a.list("feature-scaling-modalities")
                                                                         : std::vector<std::string>{"atac"};
  for (const std::string& m : names) {
    models::RegviModality md;
    md.name = m;
    md.n_hidden = to_int("n-hidden", per_modality(a, "n-hidden", m, "128"));
    md.n_latent = to_int("n-latent", per_modality(a, "n-latent", m, "10"));
    md.n_layers = int(to_int("n-layers", per_modality(a, "n-layers", m, "1")));
    md.dispersion = per_modality(a, "dispersion", m, "gene-batch");
    md.dispersion_hyper_prior_mean = std::stod(per_modality(a, "dispersion-hyper-prior-mean", m, "0.3333333333333333"));
    md.dispersion_hyper_prior_alpha = std::stod(per_modality(a, "dispersion-hyper-prior-alpha", m, "9"));
    md.dispersion_prior_direction = per_modality(a, "dispersion-prior-direction", m, "inverse_sqrt");
    md.library_log_vars_weight = std::stod(per_modality(a, "library-log-vars-weight", m, "0.5"));
    md.decoder_bias_multiplier = std::stod(per_modality(a, "decoder-bias-multiplier", m, "1"));
    if (a.has("library-log-means-centering-sensitivity"))
      md.centering_sensitivity = std::stod(per_modality(a, "library-log-means-centering-sensitivity", m, "1"));
    if (multimodal) {
      md.additive_background = in_list(bg, m);
      md.feature_scaling = in_list(fs, m);
    } else {
      md.additive_background = parse_bool(a, "use-additive-background", true);
      md.feature_scaling = parse_bool(a, "use-feature-scaling", true);
    }
    c.modalities.push_back(md);
  }
  CUVI_CHECK(!(multimodal && (a.has("use-additive-background") || a.has("use-feature-scaling"))),
             "regularized-multimodal takes --additive-background-modalities / --feature-scaling-modalities");
  c.latent_mode = a.str("latent-mode", c.latent_mode);
  c.modality_weights = a.str("modality-weights", c.modality_weights);
  if (a.has("modality-lr-multiplier")) {
    CUVI_CHECK(multimodal, "--modality-lr-multiplier: regularized-multimodal only");
    std::stringstream ss(a.str("modality-lr-multiplier"));
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      const size_t eq = tok.find('=');
      CUVI_CHECK(eq != std::string::npos, "--modality-lr-multiplier: expected NAME=VALUE pairs, got '" + tok + "'");
      char* end = nullptr;
      const std::string v = tok.substr(eq + 1);
      const double x = std::strtod(v.c_str(), &end);
      CUVI_CHECK(!v.empty() && end && *end == '\0', "--modality-lr-multiplier: '" + v + "' is not a number");
      c.modality_lr_multiplier[tok.substr(0, eq)] = x;
    }
  }
  c.dropout_rate = a.number("dropout-rate", c.dropout_rate);
  c.library_n_hidden = a.integer("library-n-hidden", c.library_n_hidden);
  c.use_batch_norm = a.str("use-batch-norm", c.use_batch_norm);
  c.use_layer_norm = a.str("use-layer-norm", c.use_layer_norm);
  c.deeply_inject_covariates = parse_bool(a, "deeply-inject-covariates", c.deeply_inject_covariates);
  c.residual_library_encoder = parse_bool(a, "residual-library-encoder", c.residual_library_encoder);
  c.library_obs_w_prior_rate = a.number("library-obs-w-prior-rate", c.library_obs_w_prior_rate);
  c.regularise_dispersion = parse_bool(a, "regularise-dispersion", c.regularise_dispersion);
  c.regularise_background = parse_bool(a, "regularise-background", c.regularise_background);
  c.additive_bg_prior_alpha = a.number("additive-bg-prior-alpha", c.additive_bg_prior_alpha);
  c.additive_bg_prior_beta = a.number("additive-bg-prior-beta", c.additive_bg_prior_beta);
  c.feature_scaling_prior_alpha = a.number("feature-scaling-prior-alpha", c.feature_scaling_prior_alpha);
  c.feature_scaling_prior_beta = a.number("feature-scaling-prior-beta", c.feature_scaling_prior_beta);
  c.decoder_weight_l2 = a.number("decoder-weight-l2", c.decoder_weight_l2);
  c.decoder_cov_weight_l2 = a.number("decoder-cov-weight-l2", c.decoder_cov_weight_l2);
  c.init_decoder_bias = a.str("init-decoder-bias", c.init_decoder_bias);
  c.bg_init_gene_fraction = a.str("bg-init-gene-fraction") == "none" ? 0.0 : a.number("bg-init-gene-fraction", 0.2);
  c.additive_bg_init_std = a.number("additive-bg-init-std", c.additive_bg_init_std);
  c.dispersion_init = a.str("dispersion-init", c.dispersion_init);
  CUVI_CHECK(c.bg_init_gene_fraction >= 0, "--bg-init-gene-fraction must be >= 0 or none");
  return c;
}

}  // namespace

int train_regvi(const Argv& argv, bool multimodal) {
  const std::string cmd = multimodal ? "regularized-multimodal" : "regularized-scvi";
  if (wants_help(argv)) {
    std::string usage = "usage: cuvi train " + cmd + " --data FILE --out MODEL [options]\n" +
                        (multimodal ? "  --data FILE.h5mu      modalities 'rna' and 'atac' (model order: alphabetical)\n"
                                    : "  --data FILE.h5ad\n");
    std::fputs((usage + kHelpKeys + kHelpModel + train_options_help(workflow::regvi_train_config())).c_str(), stdout);
    return 0;
  }
  const Args a(argv, merge({kKeyOptions, kModelOptions, kTrainOptions}), kTrainFlags, kKeyLists);
  const bool quiet = a.flag("quiet");
  const std::string out = a.required("out");
  const workflow::RegviKeys keys = keys_from(a, multimodal);
  const std::vector<std::string> names =
      multimodal ? std::vector<std::string>{"atac", "rna"} : std::vector<std::string>{""};
  models::RegviConfig cfg = config_from(a, names, multimodal);  // options checked before the data load
  std::vector<int64_t> col0;
  workflow::PreparedData data = workflow::prepare_regvi_data(a.required("data"), keys, a.str("layer"), names, nullptr,
                                                             a.flag("strict-counts"), &col0);
  report_data(quiet, data.data);
  for (size_t m = 0; m < names.size(); ++m)
    cfg.modalities[m].n_features = multimodal ? int64_t(names[m] == "rna" ? data.registry.genes.size()
                                                                          : data.registry.regions.size())
                                              : int64_t(data.registry.genes.size());
  const bool no_group = keys.resolved().ambient_covariate_keys.empty() && keys.resolved().dispersion_key.empty() &&
                        keys.resolved().library_size_key.empty();
  if (no_group)
    info(quiet, "note: no batch, ambient, dispersion or library-size key: one group each (regularizedvi's "
                "single-modal setup_anndata would raise a ValueError)");

  TrainConfig tc = train_config_from(a, workflow::regvi_train_config(), data.counts().n_rows);
  if (tc.early_stopping && !a.has("early-stopping-min-delta"))
    tc.early_stopping_min_delta = double(cfg.total_features()) * 2e-4;
  auto backend = backend_from(a, quiet);
  auto model = workflow::new_regvi_model(data, keys, cfg, col0, *backend, tc.seed);
  info(quiet, "data: " + std::to_string(data.counts().n_rows) + " cells x " +
                  std::to_string(model->config().total_features()) + " features, " +
                  std::to_string(data.counts().nnz()) + " stored counts");
  info(quiet, model->config().describe());
  const TrainResult r = workflow::train_regvi(*model, data, *backend, tc, loader_options_from(a));
  std::map<std::string, std::string> facts = workflow::training_facts(*backend, tc, r, a.required("data"));
  facts["n_obs_global_terms"] = std::to_string(model->n_obs());
  workflow::save_regvi(out, *model, keys, data.registry, r.history, facts);
  report_training(quiet, multimodal ? "RegularizedMultimodalVI" : "AmbientRegularizedSCVI", r, out);
  return 0;
}

}  // namespace cuvi::cli
