// cuvi train scvi|linear-scvi|mrvi: registers a file's counts and covariates, trains with scvi-tools'
// defaults (scvi-multivi.md §1.1, §4.1; mrvi.md §4) and writes a model file. MRVI: cmd_train_mrvi.cpp.
#include <cstdio>

#include "engine/error.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_options.h"
#include "tools/workflow/scvi_file.h"
#include "tools/workflow/scvi_train.h"

namespace cuvi::cli {
namespace {

const char* kHelp =
    "usage: cuvi train scvi|linear-scvi --data FILE --out MODEL [options]\n"
    "       cuvi train mrvi --data FILE --sample-key COL --out MODEL [options]   (cuvi train mrvi --help)\n"
    "       cuvi train multivi --data FILE --out MODEL [options]                 (cuvi train multivi --help)\n"
    "       cuvi train regularized-scvi --data FILE --out MODEL [options]        (regularizedvi; --help)\n"
    "       cuvi train regularized-multimodal --data FILE.h5mu --out MODEL [options]\n"
    "data:\n"
    "  --data FILE                  .h5ad, 10x .h5 or .h5mu with raw counts\n"
    "  --layer NAME                 counts in layers/NAME ('raw' for raw/X; default X)\n"
    "  --modality NAME              .h5mu modality (default rna)\n"
    "  --batch-key COL --labels-key COL\n"
    "  --categorical-covariate-keys COL...  --continuous-covariate-keys COL...\n"
    "model (scvi-tools names and defaults):\n"
    "  --n-hidden 128 --n-latent 10 --n-layers 1 --dropout-rate 0.1\n"
    "  --dispersion gene|gene-batch|gene-label|gene-cell   --gene-likelihood zinb|nb|poisson\n"
    "  --latent-distribution normal|ln   --use-observed-lib-size true|false\n"
    "  --encode-covariates true|false --deeply-inject-covariates true|false\n"
    "  --use-batch-norm none|encoder|decoder|both --use-layer-norm none|encoder|decoder|both\n";

const std::set<std::string> kScviOptions = {
    "n-hidden", "n-latent", "n-layers", "dropout-rate", "dispersion", "gene-likelihood", "latent-distribution",
    "use-observed-lib-size", "encode-covariates", "deeply-inject-covariates", "use-batch-norm", "use-layer-norm"};

int train_scvi(const std::string& kind, const Argv& argv) {
  const Args a(argv, merge({kScviOptions, kTrainOptions, kDataOptions}), kTrainFlags, kDataLists);
  const bool quiet = a.flag("quiet");
  const std::string out = a.required("out");
  workflow::PreparedData data = load_training_data(a, setup_keys(a));

  models::ScviConfig cfg = workflow::scvi_config_for(kind, data);
  cfg.n_hidden = a.integer("n-hidden", cfg.n_hidden);
  cfg.n_latent = a.integer("n-latent", cfg.n_latent);
  cfg.n_layers = int(a.integer("n-layers", cfg.n_layers));
  cfg.dropout_rate = a.number("dropout-rate", cfg.dropout_rate);
  cfg.dispersion = a.str("dispersion", cfg.dispersion);
  cfg.gene_likelihood = a.str("gene-likelihood", cfg.gene_likelihood);
  cfg.latent_distribution = a.str("latent-distribution", cfg.latent_distribution);
  cfg.use_observed_lib_size = parse_bool(a, "use-observed-lib-size", cfg.use_observed_lib_size);
  cfg.encode_covariates = parse_bool(a, "encode-covariates", cfg.encode_covariates);
  cfg.deeply_inject_covariates = parse_bool(a, "deeply-inject-covariates", cfg.deeply_inject_covariates);
  cfg.use_batch_norm = a.str("use-batch-norm", cfg.use_batch_norm);
  cfg.use_layer_norm = a.str("use-layer-norm", cfg.use_layer_norm);
  cfg.validate();

  TrainConfig defaults;
  defaults.early_stopping_patience = 45;
  const TrainConfig tc = train_config_from(a, defaults, data.data.counts.n_rows);
  CUVI_CHECK(tc.batch_size >= 2, "--batch-size must be at least 2 (BatchNorm needs two cells)");

  auto backend = backend_from(a, quiet);
  const workflow::ScviTraining t =
      workflow::train_scvi(*backend, cfg, data, tc, loader_options_from(a), [&](const DeviceDataset& dataset) {
        info(quiet, "data: " + std::to_string(dataset.n_rows()) + " cells x " + std::to_string(dataset.n_genes()) +
                        " genes from " + data.data.source + (dataset.streaming() ? " (streamed from host memory)" : ""));
        info(quiet, cfg.describe());
      });
  workflow::save_scvi(out, *t.model, data.registry, t.result.history,
                      workflow::training_facts(*backend, tc, t.result, a.required("data")));
  report_training(quiet, cfg.model, t.result, out);
  return 0;
}

}  // namespace

int cmd_train(const Argv& argv) {
  const bool help = wants_help(argv);
  if (argv.empty() || (help && (argv[0] == "scvi" || argv[0] == "linear-scvi" || argv[0].rfind("-", 0) == 0))) {
    TrainConfig defaults;
    defaults.early_stopping_patience = 45;
    std::fputs((std::string(kHelp) + train_options_help(defaults)).c_str(),
               argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const std::string kind = argv[0];
  const Argv rest(argv.begin() + 1, argv.end());
  if (kind == "mrvi") return train_mrvi(rest);
  if (kind == "multivi") return train_multivi(rest);
  if (kind == "regularized-scvi") return train_regvi(rest, false);
  if (kind == "regularized-multimodal") return train_regvi(rest, true);
  CUVI_CHECK(kind == "scvi" || kind == "linear-scvi",
             "unknown model '" + kind + "' (this version trains: scvi, linear-scvi, mrvi, multivi, regularized-scvi, regularized-multimodal)");
  return train_scvi(kind, rest);
}

}  // namespace cuvi::cli
