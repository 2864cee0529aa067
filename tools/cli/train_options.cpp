// Shared `cuvi train` option parsing and the post-training summary.
#include "tools/cli/train_options.h"

#include <cstdio>
#include <sstream>

#include "engine/error.h"
#include "tools/cli/cli_util.h"

namespace cuvi::cli {

const std::set<std::string> kTrainOptions = {
    "data", "out", "max-epochs", "batch-size", "train-size", "validation-indices", "early-stopping-patience",
    "early-stopping-min-delta", "lr", "weight-decay", "eps", "gradient-clip-val", "n-epochs-kl-warmup",
    "n-steps-kl-warmup", "seed", "device", "threads", "memory-budget", "restore-best-weights"};
const std::set<std::string> kTrainFlags = {"early-stopping", "no-early-stopping", "quiet", "no-cuda-graph",
                                           "strict-counts"};

std::string train_options_help(const TrainConfig& d) {
  std::ostringstream s;
  s << "training:\n"
    << "  --max-epochs E (default "
    << (d.max_epochs > 0 ? std::to_string(d.max_epochs) : std::string("min(round(20000/n*400), 400)"))
    << ")  --batch-size " << d.batch_size
    << "  --train-size 0.9\n"
    << "  --validation-indices FILE    0-based cells to validate on, one per line (e.g. scvi-tools'\n"
    << "                               model.validation_indices); every other cell trains\n"
    << (d.early_stopping ? "  --no-early-stopping (on by default: " + d.early_stopping_monitor + ",\n   "
                         : std::string("  --early-stopping ("))
    << " --early-stopping-patience " << d.early_stopping_patience << " --early-stopping-min-delta 0)\n"
    << "  --restore-best-weights " << (d.restore_best_weights ? "true" : "false")
    << "  after early stopping, the best epoch's weights (false: the last epoch's)\n"
    << "  --lr " << d.optimizer.lr << " --weight-decay " << d.optimizer.weight_decay << " --eps " << d.optimizer.eps
    << " --gradient-clip-val " << d.optimizer.clip_norm << " (0: none)\n"
    << "  --n-epochs-kl-warmup " << d.n_epochs_kl_warmup << " --n-steps-kl-warmup S\n"
    << "  --seed 0 --device auto|cpu|cuda --threads N --memory-budget BYTES --quiet\n"
    << "  --no-cuda-graph              run every CUDA step op by op instead of replaying a captured graph\n"
    << "  --strict-counts              refuse non-integer counts (default: train on them with a warning)\n"
    << "  --out MODEL                  model file to write\n";
  return s.str();
}

TrainConfig train_config_from(const Args& a, const TrainConfig& d, int64_t n_cells) {
  TrainConfig tc = d;
  tc.max_epochs = a.integer("max-epochs", d.max_epochs);
  tc.batch_size = a.integer("batch-size", d.batch_size);
  tc.train_size = a.number("train-size", 0);
  if (a.has("validation-indices")) {
    CUVI_CHECK(!a.has("train-size"), "--validation-indices and --train-size both set the split; give one");
    tc.validation_cells = read_cell_indices(a.str("validation-indices"), n_cells);
  }
  CUVI_CHECK(!(a.flag("early-stopping") && a.flag("no-early-stopping")),
             "--early-stopping and --no-early-stopping contradict each other");
  tc.early_stopping = (d.early_stopping || a.flag("early-stopping")) && !a.flag("no-early-stopping");
  tc.early_stopping_patience = a.integer("early-stopping-patience", d.early_stopping_patience);
  tc.restore_best_weights = parse_bool(a, "restore-best-weights", d.restore_best_weights);
  tc.early_stopping_min_delta = a.number("early-stopping-min-delta", 0);
  tc.n_epochs_kl_warmup = a.integer("n-epochs-kl-warmup", d.n_epochs_kl_warmup);
  tc.n_steps_kl_warmup = a.integer("n-steps-kl-warmup", 0);
  if (a.has("n-steps-kl-warmup") && !a.has("n-epochs-kl-warmup")) tc.n_epochs_kl_warmup = 0;
  tc.optimizer.lr = a.number("lr", d.optimizer.lr);
  tc.optimizer.weight_decay = a.number("weight-decay", d.optimizer.weight_decay);
  tc.optimizer.eps = a.number("eps", d.optimizer.eps);
  tc.optimizer.clip_norm = a.number("gradient-clip-val", d.optimizer.clip_norm);
  tc.seed = uint64_t(a.integer("seed", 0));
  tc.progress = !a.flag("quiet");
  tc.cuda_graph = !a.flag("no-cuda-graph");
  CUVI_CHECK(tc.max_epochs >= 0, "--max-epochs must be positive");
  CUVI_CHECK(tc.optimizer.lr > 0 && tc.optimizer.eps > 0 && tc.optimizer.weight_decay >= 0 &&
                 tc.optimizer.clip_norm >= 0,
             "--lr and --eps must be positive, --weight-decay and --gradient-clip-val non-negative");
  return tc;
}

LoaderOptions loader_options_from(const Args& a) {
  LoaderOptions lo;
  lo.memory_budget_bytes = size_t(a.integer("memory-budget", 0));
  return lo;
}

workflow::PreparedData load_training_data(const Args& a, const workflow::SetupKeys& keys) {
  const bool quiet = a.flag("quiet");
  workflow::PreparedData data = workflow::prepare_data(a.required("data"), keys, nullptr, a.flag("strict-counts"));
  report_data(quiet, data.data);
  const io::CountsSummary& sum = data.data.summary;
  if (sum.all_zero_cells > 0)
    info(quiet, "warning: " + std::to_string(sum.all_zero_cells) +
                    " cells have no counts; their observed log library is -inf (scvi-tools behaves the same)");
  return data;
}

void report_training(bool quiet, const std::string& model, const TrainResult& r, const std::string& out) {
  const auto& h = r.history;
  const double n_train = double(r.split.train.size());
  char line[512];
  std::snprintf(line, sizeof line, "trained %s: %lld epochs in %.2f s (%.0f cells/s), elbo_train %.3f%s", model.c_str(),
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
  if (r.restored_best)
    info(quiet, "early stopping: restored the weights of epoch " + std::to_string(r.best_epoch + 1));
  info(quiet, "model written to " + out);
}

}  // namespace cuvi::cli
