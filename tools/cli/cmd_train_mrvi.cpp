// cuvi train mrvi: registers samples (and batches, labels), trains MRVI with scvi-tools' effective
// defaults (spec/mrvi.md §2-4) and writes a model file with the sample registry and covariates.
#include <cstdio>

#include "engine/error.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_options.h"
#include "tools/workflow/scvi_train.h"
#include "tools/workflow/mrvi_file.h"
#include "tools/workflow/mrvi_train.h"

namespace cuvi::cli {
namespace {

const char* kHelp =
    "usage: cuvi train mrvi --data FILE --sample-key COL --out MODEL [options]\n"
    "data:\n"
    "  --data FILE                  .h5ad, 10x .h5 or .h5mu with raw counts\n"
    "  --layer NAME --modality NAME\n"
    "  --sample-key COL             the sample (donor, patient, perturbation) of each cell (required)\n"
    "  --batch-key COL              technical batches, seen by the decoder only\n"
    "  --labels-key COL             cell labels guiding the mixture prior on u (one component per label)\n"
    "model (scvi-tools' MRVI names and defaults):\n"
    "  --n-latent 30 --n-latent-u 10 --encoder-n-hidden 128 --encoder-n-layers 2\n"
    "  --u-prior-mixture true --u-prior-mixture-k 20 --u-prior-scale 0\n"
    "  --z-u-prior true --z-u-prior-scale 0 --learn-z-u-prior-scale false --scale-observations false\n"
    "  --label-prior per-cell|parity   with --labels-key: score each cell under its own label's mixture\n"
    "                               weights (per-cell, default), or reproduce scvi-tools' minibatch-wide\n"
    "                               label broadcast (parity)\n"
    "  --qz-use-map true --qz-stop-gradients false --qz-stop-gradients-mlp true --qz-dropout-rate 0.03\n"
    "  --qz-n-hidden 32 --qz-n-layers 1\n"
    "  --px-low-dim-batch true --px-stop-gradients false --px-stop-gradients-mlp true --px-dropout-rate 0.03\n"
    "  --px-n-hidden 32 --px-n-layers 1\n";

const std::set<std::string> kMrviOptions = {
    "sample-key", "n-latent", "n-latent-u", "encoder-n-hidden", "encoder-n-layers", "u-prior-mixture",
    "u-prior-mixture-k", "u-prior-scale", "z-u-prior", "z-u-prior-scale", "learn-z-u-prior-scale",
    "scale-observations", "label-prior", "qz-use-map", "qz-stop-gradients", "qz-stop-gradients-mlp",
    "qz-dropout-rate", "qz-n-hidden", "qz-n-layers", "px-low-dim-batch", "px-stop-gradients",
    "px-stop-gradients-mlp", "px-dropout-rate", "px-n-hidden", "px-n-layers"};
const std::set<std::string> kNotForMrvi = {"categorical-covariate-keys", "continuous-covariate-keys"};

void attention_options(const Args& a, const std::string& p, models::MrviAttentionOptions* o) {
  o->stop_gradients = parse_bool(a, p + "-stop-gradients", o->stop_gradients);
  o->stop_gradients_mlp = parse_bool(a, p + "-stop-gradients-mlp", o->stop_gradients_mlp);
  o->dropout_rate = a.number(p + "-dropout-rate", o->dropout_rate);
  o->n_hidden = a.integer(p + "-n-hidden", o->n_hidden);
  o->n_layers = int(a.integer(p + "-n-layers", o->n_layers));
}

}  // namespace

int train_mrvi(const Argv& argv) {
  if (wants_help(argv)) {
    std::fputs((std::string(kHelp) + train_options_help(models::mrvi_train_config())).c_str(), stdout);
    return 0;
  }
  const Args a(argv, merge({kMrviOptions, kTrainOptions, kDataOptions}), kTrainFlags, kDataLists);
  for (const auto& k : kNotForMrvi)
    CUVI_CHECK(!a.has(k), "--" + k + " is not an MRVI option (MRVI takes a sample, a batch and a labels key)");
  const bool quiet = a.flag("quiet");
  const std::string out = a.required("out");
  workflow::SetupKeys keys = setup_keys(a);
  keys.sample_key = a.required("sample-key");
  workflow::PreparedData data = load_training_data(a, keys);

  models::MrviConfig cfg;
  cfg.n_latent = a.integer("n-latent", cfg.n_latent);
  cfg.n_latent_u = a.integer("n-latent-u", cfg.n_latent_u);
  cfg.encoder_n_hidden = a.integer("encoder-n-hidden", cfg.encoder_n_hidden);
  cfg.encoder_n_layers = int(a.integer("encoder-n-layers", cfg.encoder_n_layers));
  cfg.u_prior_mixture = parse_bool(a, "u-prior-mixture", cfg.u_prior_mixture);
  cfg.u_prior_mixture_k = a.integer("u-prior-mixture-k", cfg.u_prior_mixture_k);
  cfg.u_prior_scale = a.number("u-prior-scale", cfg.u_prior_scale);
  cfg.z_u_prior = parse_bool(a, "z-u-prior", cfg.z_u_prior);
  cfg.z_u_prior_scale = a.number("z-u-prior-scale", cfg.z_u_prior_scale);
  cfg.learn_z_u_prior_scale = parse_bool(a, "learn-z-u-prior-scale", cfg.learn_z_u_prior_scale);
  cfg.scale_observations = parse_bool(a, "scale-observations", cfg.scale_observations);
  cfg.label_prior = a.str("label-prior", cfg.label_prior);
  cfg.qz_use_map = parse_bool(a, "qz-use-map", cfg.qz_use_map);
  attention_options(a, "qz", &cfg.qz);
  cfg.px_low_dim_batch = parse_bool(a, "px-low-dim-batch", cfg.px_low_dim_batch);
  attention_options(a, "px", &cfg.px);
  if (cfg.n_latent < cfg.n_latent_u)
    std::fprintf(stderr, "warning: --n-latent %lld (z) is smaller than --n-latent-u %lld (u)\n",
                 (long long)cfg.n_latent, (long long)cfg.n_latent_u);
  if (a.has("u-prior-scale") && cfg.u_prior_mixture)
    std::fprintf(stderr, "warning: --u-prior-scale applies to the normal prior only (--u-prior-mixture false)\n");

  const TrainConfig tc = train_config_from(a, models::mrvi_train_config(), data.data.counts.n_rows);
  auto backend = backend_from(a, quiet);
  auto model = workflow::new_mrvi_model(data, cfg, *backend, tc.seed);
  const workflow::SampleTable samples = workflow::sample_table(data);
  const io::CsrMatrix& m = data.data.counts;
  info(quiet, "data: " + std::to_string(m.n_rows) + " cells x " + std::to_string(m.n_cols) + " genes, " +
                  std::to_string(samples.samples.size()) + " samples from " + data.data.source);
  info(quiet, model->config().describe());

  const TrainResult r = workflow::train_mrvi(*model, data, *backend, tc, loader_options_from(a));
  workflow::save_mrvi(out, *model, data.registry, samples, r.history, workflow::training_facts(*backend, tc, r, a.required("data")));
  report_training(quiet, "MRVI", r, out);
  return 0;
}

}  // namespace cuvi::cli
