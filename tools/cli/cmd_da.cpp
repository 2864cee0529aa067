// cuvi da and MULTIVI's cuvi de (scvi-multivi.md §2.7, §3): the shared DE driver with MULTIVI's scale
// functions; scvi-tools' CSV tables (DA: prob_da ... emp_prob2 per region, in region order).
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/de_options.h"
#include "tools/cli/multivi_options.h"
#include "tools/workflow/model_file.h"
#include "tools/workflow/multivi_de.h"

namespace cuvi::cli {
namespace {

const std::set<std::string> kCommon = {"model", "data", "out", "rna-data", "atac-data", "batch-size", "seed",
                                       "device", "threads"};

workflow::DeResult run(const Argv& argv, bool accessibility, std::string* out, workflow::ResultTable* table) {
  const Args a(argv, merge({kCommon, kDeOptions}), merge({kDeFlags, {"quiet", "strict-counts"}}), kDeLists);
  CUVI_CHECK(model_kind_in(argv) == workflow::kMultiviKind,
             a.required("model") + ": " + (accessibility ? "differential accessibility" : "this DE") +
                 " needs a MULTIVI model");
  const bool quiet = a.flag("quiet");
  *out = a.required("out");
  const workflow::DeOptions o =
      de_options_from(a, accessibility ? workflow::multivi_da_defaults() : workflow::multivi_de_defaults());
  auto backend = backend_from(a, quiet);
  workflow::MultiviInference inf = open_multivi(a, *backend, o.seed, o.batch_size);
  workflow::DeResult r = accessibility ? workflow::multivi_differential_accessibility(inf, o, table)
                                       : workflow::multivi_differential_expression(inf, o);
  if (!accessibility) *table = r.table;
  for (const auto& n : r.notes) info(quiet, "note: " + n);
  workflow::write_csv(*table, *out);
  info(quiet, std::string(accessibility ? "DA" : "DE") + " (" + o.mode + "): " + std::to_string(r.comparisons.size()) +
                  " comparison(s), " + std::to_string(r.n_scale_evaluations) + " scale evaluations; wrote " + *out);
  return r;
}

}  // namespace

int de_multivi(const Argv& argv) {
  std::string out;
  workflow::ResultTable t;
  run(argv, false, &out, &t);
  return 0;
}

int cmd_da(const Argv& argv) {
  if (model_kind_in(argv) == workflow::kMrviKind) return da_mrvi(argv);
  if (argv.empty() || wants_help(argv)) {
    std::fputs((std::string("usage: cuvi da --model MULTIVI_MODEL --data FILE --groupby COL --group1 A [--group2 B] "
                            "--out DA.csv [options]\n"
                            "scvi-tools' MULTIVI.differential_accessibility: one comparison, a row per region in "
                            "region order, columns\nprob_da, is_da_fdr, bayes_factor, effect_size, emp_effect, "
                            "est_prob1, est_prob2, emp_prob1, emp_prob2\n") +
                de_options_help(workflow::multivi_da_defaults(), true) +
                "  --rna-data FILE --atac-data FILE --batch-size 128 --seed 0 --device auto|cpu|cuda --threads N\n"
                "  --quiet --strict-counts\n\n")
                   .c_str(),
               argv.empty() ? stderr : stdout);
    return da_mrvi(argv);  // MRVI's form of the help
  }
  std::string out;
  workflow::ResultTable t;
  run(argv, true, &out, &t);
  return 0;
}

}  // namespace cuvi::cli
