// cuvi evaluate: model fit on a data file (scvi-multivi.md §1.5): scvi-tools' get_elbo,
// get_reconstruction_error and get_marginal_ll, aggregated on stdout and optionally per cell as CSV.
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/result_table.h"
#include "tools/workflow/scvi_fit.h"
#include "tools/workflow/scvi_inference.h"
#include "tools/cli/multivi_options.h"
#include "tools/workflow/multivi_fit.h"
#include "tools/workflow/regvi_file.h"

namespace cuvi::cli {
namespace {

const char* kHelp =
    "usage: cuvi evaluate --model MODEL --data FILE [options]\n"
    "  --n-mc-samples 1000   importance samples of the marginal log-likelihood (0: skip it)\n"
    "  --per-cell --out CELLS.csv   per-cell elbo, reconstruction_loss, marginal_ll\n"
    "  --batch-size 128 --seed 0 --device auto|cpu|cuda --threads N --quiet\n"
        "  --strict-counts      refuse non-integer counts (default: use them with a warning)\n"
    "Printed (scvi-tools' sign conventions): elbo = mean over cells of log p(x|z,l) - KL (negative,\n"
    "higher is better; one z sample, unweighted KL), reconstruction_loss = mean -log p(x|z,l) (same\n"
    "z sample), marginal_ll = mean over minibatches of the per-minibatch mean (get_marginal_ll's\n"
    "return_mean), marginal_ll_cells = mean over cells.\n"
    "MULTIVI models: elbo, reconstruction_loss_expression and _accessibility (means over every cell; a\n"
    "cell's term is 0 where it lacks the modality); --per-cell adds kl_divergence_z, kl_divergence_paired\n"
    "and the modality column; --rna-data / --atac-data as for training.\n"
    "RegularizedVI models: elbo and reconstruction_loss (eval mode: theta = exp(m), z and library sampled);\n"
    "  --per-cell --out CELLS.csv, or --per-feature --out FEATURES.csv: mean -log p per feature over the cells\n"
    "  that have its modality (regularizedvi's get_per_feature_reconstruction_loss); --covariate-effects --out\n"
    "  EFFECTS.csv: get_covariate_effects (decoder layer-0 norms on stdout; per feature mean px_scale, exp(m) per\n"
    "  dispersion group, feature scaling per row and exp(beta) per ambient category).\n";

int evaluate_multivi(const Argv& argv) {
  const Args a(argv, {"model", "data", "out", "rna-data", "atac-data", "batch-size", "seed", "device", "threads"},
               {"per-cell", "quiet", "strict-counts"});
  const bool quiet = a.flag("quiet");
  CUVI_CHECK(a.flag("per-cell") == a.has("out"), "--per-cell and --out go together (the per-cell CSV)");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  auto backend = backend_from(a, quiet);
  workflow::MultiviInference inf = open_multivi(a, *backend, seed, a.integer("batch-size", 128));
  const workflow::MultiviFit r = workflow::evaluate_multivi_fit(*inf.session, seed);
  std::printf("elbo\t%.6f\nreconstruction_loss_expression\t%.6f\nreconstruction_loss_accessibility\t%.6f\n",
              r.elbo_mean, r.expression_mean, r.accessibility_mean);
  if (a.flag("per-cell")) {
    workflow::ResultTable t;
    t.index = inf.data.data.obs.index;
    const io::Column& kind = inf.data.data.obs.require(inf.file.file.registry.keys.multiome.modality_key, "data");
    std::vector<std::string> k;
    for (int64_t i = 0; i < kind.size(); ++i) k.push_back(kind.text(i));
    t.add("modality", workflow::ResultColumn::Text).text = k;
    t.add("elbo", workflow::ResultColumn::F64).num = r.elbo;
    t.add("reconstruction_loss_expression", workflow::ResultColumn::F64).num = r.reconstruction_expression;
    t.add("reconstruction_loss_accessibility", workflow::ResultColumn::F64).num = r.reconstruction_accessibility;
    t.add("kl_divergence_z", workflow::ResultColumn::F64).num = r.kl_z;
    t.add("kl_divergence_paired", workflow::ResultColumn::F64).num = r.kl_paired;
    workflow::write_csv(t, a.str("out"));
    info(quiet, "wrote per-cell values to " + a.str("out"));
  }
  return 0;
}

}  // namespace

int cmd_evaluate(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(kHelp, argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  if (model_kind_in(argv) == workflow::kMultiviKind) return evaluate_multivi(argv);
  if (model_kind_in(argv) == workflow::kRegviKind) return evaluate_regvi(argv);
  const Args a(argv, {"model", "data", "n-mc-samples", "out", "batch-size", "seed", "device", "threads"},
               {"per-cell", "quiet", "strict-counts"});
  const bool quiet = a.flag("quiet");
  CUVI_CHECK(a.flag("per-cell") == a.has("out"), "--per-cell and --out go together (the per-cell CSV)");
  workflow::FitOptions o;
  o.n_mc_samples = a.integer("n-mc-samples", 1000);
  o.batch_size = a.integer("batch-size", 128);
  o.seed = uint64_t(a.integer("seed", 0));
  CUVI_CHECK(o.batch_size >= 1, "--batch-size must be positive");
  auto backend = backend_from(a, quiet);
  workflow::ScviInference inf =
      open_inference(a, *backend, o.seed, o.batch_size);
  const workflow::FitResult r = workflow::evaluate_fit(*inf.session, o);
  std::printf("elbo\t%.6f\nreconstruction_loss\t%.6f\n", r.elbo_mean, r.reconstruction_loss_mean);
  if (o.n_mc_samples > 0)
    std::printf("marginal_ll\t%.6f\nmarginal_ll_cells\t%.6f\n", r.marginal_ll_batch_mean, r.marginal_ll_cell_mean);
  if (a.flag("per-cell")) {
    workflow::ResultTable t;
    t.index = inf.data.data.obs.index;
    t.add("elbo", workflow::ResultColumn::F64).num = r.elbo;
    t.add("reconstruction_loss", workflow::ResultColumn::F64).num = r.reconstruction_loss;
    if (o.n_mc_samples > 0) t.add("marginal_ll", workflow::ResultColumn::F64).num = r.marginal_ll;
    workflow::write_csv(t, a.str("out"));
    info(quiet, "wrote per-cell values to " + a.str("out"));
  }
  return 0;
}

}  // namespace cuvi::cli
