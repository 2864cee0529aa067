// cuvi train scvi|linear-scvi: registers a file's counts and covariates, trains with scvi-tools'
// defaults (scvi-multivi.md §1.1, §4.1) and writes a model file.
#include <cmath>
#include <cstdio>

#include "engine/error.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/scvi_file.h"
#include "tools/workflow/scvi_train.h"

namespace cuvi::cli {
namespace {

const char* kHelp =
    "usage: cuvi train scvi|linear-scvi --data FILE --out MODEL [options]\n"
    "data:\n"
    "  --data FILE                  .h5ad, 10x .h5 or .h5mu with raw counts\n"
    "  --layer NAME                 counts in layers/NAME ('raw' for raw/X; default X)\n"
    "  --modality NAME              .h5mu modality (default rna)\n"
    "  --batch-key COL --labels-key COL\n"
    "  --categorical-covariate-keys COL...  --continuous-covariate-keys COL...\n"
    "  --strict-counts              refuse non-integer counts (default: train on them with a warning)\n"
    "model (scvi-tools names and defaults):\n"
    "  --n-hidden 128 --n-latent 10 --n-layers 1 --dropout-rate 0.1\n"
    "  --dispersion gene|gene-batch|gene-label|gene-cell   --gene-likelihood zinb|nb|poisson\n"
    "  --latent-distribution normal|ln   --use-observed-lib-size true|false\n"
    "  --encode-covariates true|false --deeply-inject-covariates true|false\n"
    "  --use-batch-norm none|encoder|decoder|both --use-layer-norm none|encoder|decoder|both\n"
    "training:\n"
    "  --max-epochs E (default min(round(20000/n*400), 400))  --batch-size 128  --train-size 0.9\n"
    "  --validation-indices FILE    0-based cells to validate on, one per line (e.g. scvi-tools'\n"
    "                               model.validation_indices); every other cell trains\n"
    "  --early-stopping [--early-stopping-patience 45 --early-stopping-min-delta 0]\n"
    "  --lr 1e-3 --weight-decay 1e-6 --eps 0.01 --n-epochs-kl-warmup 400 --n-steps-kl-warmup S\n"
    "  --seed 0 --device auto|cpu|cuda --threads N --memory-budget BYTES --quiet\n"
    "  --no-cuda-graph              run every CUDA step op by op instead of replaying a captured graph\n"
    "  --out MODEL                  model file to write\n";

const std::set<std::string> kOptions = {
    "data", "out", "n-hidden", "n-latent", "n-layers", "dropout-rate", "dispersion", "gene-likelihood",
    "latent-distribution", "use-observed-lib-size", "encode-covariates", "deeply-inject-covariates",
    "use-batch-norm", "use-layer-norm", "max-epochs", "batch-size", "train-size", "validation-indices", "early-stopping-patience",
    "early-stopping-min-delta", "lr", "weight-decay", "eps", "n-epochs-kl-warmup", "n-steps-kl-warmup", "seed",
    "device", "threads", "memory-budget"};
const std::set<std::string> kFlags = {"early-stopping", "quiet", "no-cuda-graph", "strict-counts"};

}  // namespace

int cmd_train(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(kHelp, argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const std::string kind = argv[0];
  workflow::scvi_defaults(kind);  // an unknown model fails before the options are read
  const Args a(Argv(argv.begin() + 1, argv.end()), merge({kOptions, kDataOptions}), kFlags, kDataLists);
  const bool quiet = a.flag("quiet");
  const std::string data_path = a.required("data");
  const std::string out = a.required("out");

  workflow::PreparedData data = workflow::prepare_data(data_path, setup_keys(a), nullptr, a.flag("strict-counts"));
  report_data(quiet, data.data);
  const io::CountsSummary& sum = data.data.summary;
  if (sum.all_zero_cells > 0)
    info(quiet, "warning: " + std::to_string(sum.all_zero_cells) +
                    " cells have no counts; their observed log library is -inf (scvi-tools behaves the same)");

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

  TrainConfig tc;
  tc.max_epochs = a.integer("max-epochs", 0);
  tc.batch_size = a.integer("batch-size", 128);
  tc.train_size = a.number("train-size", 0);
  if (a.has("validation-indices")) {
    CUVI_CHECK(!a.has("train-size"), "--validation-indices and --train-size both set the split; give one");
    tc.validation_cells = read_cell_indices(a.str("validation-indices"), data.data.counts.n_rows);
  }
  tc.early_stopping = a.flag("early-stopping");
  tc.early_stopping_patience = a.integer("early-stopping-patience", 45);
  tc.early_stopping_min_delta = a.number("early-stopping-min-delta", 0);
  tc.n_epochs_kl_warmup = a.integer("n-epochs-kl-warmup", 400);
  tc.n_steps_kl_warmup = a.integer("n-steps-kl-warmup", 0);
  if (a.has("n-steps-kl-warmup") && !a.has("n-epochs-kl-warmup")) tc.n_epochs_kl_warmup = 0;
  tc.optimizer.lr = a.number("lr", tc.optimizer.lr);
  tc.optimizer.weight_decay = a.number("weight-decay", tc.optimizer.weight_decay);
  tc.optimizer.eps = a.number("eps", tc.optimizer.eps);
  tc.seed = uint64_t(a.integer("seed", 0));
  tc.progress = !quiet;
  tc.cuda_graph = !a.flag("no-cuda-graph");
  CUVI_CHECK(tc.batch_size >= 2, "--batch-size must be at least 2 (BatchNorm needs two cells)");
  CUVI_CHECK(tc.max_epochs >= 0, "--max-epochs must be positive");

  auto backend = backend_from(a, quiet);
  LoaderOptions lo;
  lo.memory_budget_bytes = size_t(a.integer("memory-budget", 0));
  const workflow::ScviTraining t =
      workflow::train_scvi(*backend, cfg, data, tc, lo, [&](const DeviceDataset& dataset) {
        info(quiet, "data: " + std::to_string(dataset.n_rows()) + " cells x " + std::to_string(dataset.n_genes()) +
                        " genes from " + data.data.source + (dataset.streaming() ? " (streamed from host memory)" : ""));
        info(quiet, cfg.describe());
      });
  const TrainResult& r = t.result;
  const auto& h = r.history;
  const double n_train = double(r.split.train.size());
  workflow::save_scvi(out, *t.model, data.registry, h, workflow::training_facts(*backend, tc, r, data_path));

  char line[512];
  std::snprintf(line, sizeof line, "trained %s: %lld epochs in %.1f s (%.0f cells/s), elbo_train %.3f%s", cfg.model.c_str(),
                (long long)r.epochs_run, r.seconds, n_train * r.epochs_run / std::max(r.seconds, 1e-9),
                h.at("elbo_train").back(),
                h.count("elbo_validation") ? (", elbo_validation " + std::to_string(h.at("elbo_validation").back())).c_str()
                                           : "");
  info(quiet, line);
  if (r.graphs.captured > 0)
    info(quiet, "cuda graphs: " + std::to_string(r.graphs.captured) + " captured (" +
                    std::to_string(r.graphs.nodes) + " operations per training step), " +
                    std::to_string(r.graphs.replayed) + " steps replayed, " + std::to_string(r.graphs.eager) +
                    " run op by op");
  if (r.best_epoch >= 0 && r.best_epoch + 1 < r.epochs_run)
    info(quiet, "early stopping: restored the weights of epoch " + std::to_string(r.best_epoch + 1));
  info(quiet, "model written to " + out);
  return 0;
}

}  // namespace cuvi::cli
