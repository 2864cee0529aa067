// cuvi train multivi: registers a multiome data set (paired, RNA-only and ATAC-only cells), trains
// MULTIVI with scvi-tools' defaults and adversarial batch mixing (scvi-multivi.md §2, §4.2) and writes
// a model file with the genes, regions and multiome keys.
#include <cstdio>

#include "engine/error.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/multivi_options.h"
#include "tools/cli/train_options.h"
#include "tools/workflow/scvi_train.h"
#include "tools/workflow/multiome_data.h"
#include "tools/workflow/multivi_file.h"
#include "tools/workflow/multivi_train.h"

namespace cuvi::cli {
namespace {

const char* kHelp =
    "usage: cuvi train multivi --data FILE --out MODEL [options]\n"
    "data:\n";
const char* kModelHelp =
    "  --batch-key COL   --categorical-covariate-keys COL...  --continuous-covariate-keys COL...\n"
    "model (scvi-tools' MULTIVI names and defaults):\n"
    "  --n-hidden 0 (auto: min(128, sqrt(regions)))  --n-latent 0 (auto: sqrt(n_hidden))\n"
    "  --n-layers-encoder 2 --n-layers-decoder 2 --dropout-rate 0.1 --region-factors true\n"
    "  --gene-likelihood zinb|nb|poisson --dispersion gene --latent-distribution normal|ln\n"
    "  --modality-weights equal|universal|cell --modality-penalty Jeffreys|MMD|None\n"
    "  --use-batch-norm none|encoder|decoder|both (none) --use-layer-norm none|encoder|decoder|both (both)\n"
    "  --encode-covariates false --deeply-inject-covariates false\n"
    "  --adversarial-mixing true (batch classifier on z, needs 2+ batches) --scale-adversarial-loss 1\n";

const std::set<std::string> kModelOptions = {
    "n-hidden", "n-latent", "n-layers-encoder", "n-layers-decoder", "dropout-rate", "region-factors",
    "gene-likelihood", "dispersion", "latent-distribution", "modality-weights", "modality-penalty", "use-batch-norm",
    "use-layer-norm", "encode-covariates", "deeply-inject-covariates", "adversarial-mixing",
    "scale-adversarial-loss"};

models::MultiviConfig config_from(const Args& a) {
  models::MultiviConfig c;
  c.n_hidden = a.integer("n-hidden", 0);
  c.n_latent = a.integer("n-latent", 0);
  CUVI_CHECK(c.n_hidden >= 0 && c.n_latent >= 0, "--n-hidden and --n-latent must be positive (0: scvi-tools' rule)");
  c.n_layers_encoder = int(a.integer("n-layers-encoder", c.n_layers_encoder));
  c.n_layers_decoder = int(a.integer("n-layers-decoder", c.n_layers_decoder));
  c.dropout_rate = a.number("dropout-rate", c.dropout_rate);
  c.region_factors = parse_bool(a, "region-factors", c.region_factors);
  c.gene_likelihood = a.str("gene-likelihood", c.gene_likelihood);
  c.dispersion = a.str("dispersion", c.dispersion);
  c.latent_distribution = a.str("latent-distribution", c.latent_distribution);
  c.modality_weights = a.str("modality-weights", c.modality_weights);
  c.modality_penalty = a.str("modality-penalty", c.modality_penalty);
  c.use_batch_norm = a.str("use-batch-norm", c.use_batch_norm);
  c.use_layer_norm = a.str("use-layer-norm", c.use_layer_norm);
  c.encode_covariates = parse_bool(a, "encode-covariates", c.encode_covariates);
  c.deeply_inject_covariates = parse_bool(a, "deeply-inject-covariates", c.deeply_inject_covariates);
  c.adversarial_mixing = parse_bool(a, "adversarial-mixing", c.adversarial_mixing);
  c.scale_adversarial_loss = a.number("scale-adversarial-loss", c.scale_adversarial_loss);
  return c;
}

}  // namespace

int train_multivi(const Argv& argv) {
  if (wants_help(argv)) {
    std::fputs((std::string(kHelp) + kMultiomeHelp + kModelHelp + train_options_help(models::multivi_train_config()))
                   .c_str(),
               stdout);
    return 0;
  }
  const Args a(argv, merge({kModelOptions, kMultiomeOptions, kTrainOptions, kDataOptions}), kTrainFlags, kDataLists);
  CUVI_CHECK(!a.has("labels-key"), "--labels-key: MULTIVI registers no labels (scvi-tools' setup_mudata takes none)");
  const bool quiet = a.flag("quiet");
  const std::string out = a.required("out");
  models::MultiviConfig cfg = config_from(a);  // options checked before the data load
  workflow::PreparedData data =
      workflow::prepare_multiome(a.required("data"), multiome_keys_from(a), nullptr, a.flag("strict-counts"));
  report_data(quiet, data.data);

  const TrainConfig tc = train_config_from(a, models::multivi_train_config(), data.data.counts.n_rows);
  auto backend = backend_from(a, quiet);
  auto model = workflow::new_multivi_model(data, cfg, *backend, tc.seed);
  const io::CsrMatrix& m = data.data.counts;
  const io::Column& kind = data.data.obs.require(data.registry.keys.multiome.modality_key, data.data.path, "obs");
  int64_t n[3] = {0, 0, 0};
  for (int64_t i = 0; i < kind.size(); ++i) {
    const std::string k = kind.text(i);
    ++n[k == "paired" ? 0 : (k == "expression" ? 1 : 2)];
  }
  info(quiet, "data: " + std::to_string(m.n_rows) + " cells (" + std::to_string(n[0]) + " paired, " +
                  std::to_string(n[1]) + " RNA-only, " + std::to_string(n[2]) + " ATAC-only) x " +
                  std::to_string(model->config().n_genes) + " genes + " + std::to_string(model->config().n_regions) +
                  " regions, " + std::to_string(m.nnz()) + " stored counts");
  info(quiet, model->config().describe());
  if (cfg.adversarial_mixing && model->config().n_batch == 1)
    info(quiet, "note: one batch: the adversarial classifier is disabled (as scvi-tools does)");

  const TrainResult r = workflow::train_multivi(*model, data, *backend, tc, loader_options_from(a));
  workflow::save_multivi(out, *model, data.registry, r.history, workflow::training_facts(*backend, tc, r, a.required("data")));
  report_training(quiet, "MULTIVI", r, out);
  return 0;
}

}  // namespace cuvi::cli
