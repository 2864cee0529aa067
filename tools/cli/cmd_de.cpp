// cuvi de: scvi-tools' differential_expression for a trained SCVI model (scvi-multivi.md §3),
// written as CSV (and optionally as a table in the uns of an output .h5ad).
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/de_options.h"
#include "tools/workflow/output.h"
#include "tools/workflow/model_file.h"
#include "tools/workflow/regvi_file.h"
#include "tools/workflow/scvi_de.h"

namespace cuvi::cli {
namespace {

const char* kHelp =
    "usage: cuvi de --model MODEL --data FILE --groupby COL [--group1 A...] [--group2 B] --out DE.csv [options]\n"
    "  --groupby COL              obs column defining the groups\n"
    "  --group1 A...              groups to test; default: every category of COL (one call)\n"
    "  --group2 B                 compare against B; default: the rest of the cells\n"
    "  --mode vanilla|change      default vanilla (scvi-tools' SCVI default)\n"
    "  --delta 0.25|auto          change mode: |log2 fold change| threshold of DE; auto estimates it\n"
    "                             per comparison from the genes' mean LFCs (scvi-tools' delta=None)\n"
    "  --fdr-target 0.05          change mode: posterior expected FDR of is_de_fdr_<target>\n"
    "  --pseudocounts X           change mode: pseudocount of the LFC; default estimated from genes\n"
    "                             with mean count < --threshold-counts (0.01) in a group\n"
    "  --test-mode three|two      change mode: proba_de = max of the two tails, or their sum\n"
    "  --batch-correction         decode every group in every batch category (pairs within batch)\n"
    "  --n-samples-overall 5000   posterior scale samples per group\n"
    "  --weights uniform          importance weights are not implemented\n"
    "  --out DE.csv               the table: gene index, scvi-tools' columns, rows sorted per comparison\n"
    "MULTIVI models: MULTIVI's defaults (change mode, delta 0.25, pseudocounts 1e-6); --rna-data/--atac-data\n"
    "  --h5ad-out OUT.h5ad        also a copy of --data with the table in uns[--uns-key] (default\n"
    "                             'differential_expression')\n"
    "  --batch-size 128 --seed 0 --device auto|cpu|cuda --threads N --quiet\n"
        "  --strict-counts      refuse non-integer counts (default: use them with a warning)\n"
    "Posterior samples are drawn once per group and shared by every comparison of the call.\n";

}  // namespace

int cmd_de(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs((std::string(kHelp) + "\n" + kMrviDeHelp).c_str(), argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  // MRVI models take the counterfactual form (cmd_de_mrvi.cpp), MULTIVI models cmd_da.cpp's.
  const std::string kind = model_kind_in(argv);
  if (kind == workflow::kMrviKind) return de_mrvi(argv);
  if (kind == workflow::kMultiviKind) return de_multivi(argv);
  if (kind == workflow::kRegviKind) return de_regvi(argv);
  const Args a(argv, merge({kDeOptions, {"model", "data", "out", "h5ad-out", "uns-key", "batch-size", "seed", "device",
                                         "threads"}}),
               merge({kDeFlags, {"quiet", "strict-counts"}}), kDeLists);
  const bool quiet = a.flag("quiet");
  const std::string out = a.required("out");
  const workflow::DeOptions o = de_options_from(a, workflow::DeOptions{});
  auto backend = backend_from(a, quiet);
  workflow::ScviInference inf =
      open_inference(a, *backend, o.seed, o.batch_size);
  const workflow::DeResult r = workflow::differential_expression(inf, o);
  for (const auto& n : r.notes) info(quiet, "note: " + n);
  workflow::write_csv(r.table, out);
  if (a.has("h5ad-out")) {
    io::H5adWriter w = workflow::open_result_file(inf.data, a.str("h5ad-out"));
    w.add_uns_dataframe(a.str("uns-key", "differential_expression"), workflow::to_dataframe(r.table));
    w.commit();
  }
  info(quiet, "DE (" + o.mode + "): " + std::to_string(r.comparisons.size()) + " comparison(s), " +
                  std::to_string(r.n_scale_evaluations) + " posterior scale evaluations; wrote " + out);
  return 0;
}

}  // namespace cuvi::cli
