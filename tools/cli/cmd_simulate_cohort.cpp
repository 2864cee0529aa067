// cuvi simulate-cohort: a semi-synthetic multi-sample cohort with known truth from a real data set
// (tools/workflow/semisynthetic.h), for checking what MRVI's analyses recover.
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/semisynthetic.h"

namespace cuvi::cli {

int cmd_simulate_cohort(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi simulate-cohort --data REAL.h5ad --labels-key COL --out COHORT.h5ad [options]\n"
        "  --n-samples 16            samples the cells are assigned to (first half control, second half case)\n"
        "  --affected-type T         cell type changed in case samples (default: the most frequent)\n"
        "  --de-fraction 0.05        genes changed in affected cells (half up, half down)\n"
        "  --lfc 1.0                 natural-log fold change of those genes\n"
        "  --abundance-shift 0.5     fraction of the affected type dropped from control samples\n"
        "  --seed 0 --layer NAME --quiet\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, {"data", "labels-key", "out", "n-samples", "affected-type", "de-fraction", "lfc", "abundance-shift",
                      "seed", "layer"},
               {"quiet", "strict-counts"});
  workflow::SetupKeys k;
  k.layer = a.str("layer");
  k.labels_key = a.required("labels-key");
  const workflow::PreparedData real = workflow::prepare_data(a.required("data"), k, nullptr, a.flag("strict-counts"));
  report_data(a.flag("quiet"), real.data);
  workflow::CohortConfig c;
  c.n_samples = a.integer("n-samples", c.n_samples);
  c.affected_type = a.str("affected-type");
  c.de_fraction = a.number("de-fraction", c.de_fraction);
  c.lfc = a.number("lfc", c.lfc);
  c.abundance_shift = a.number("abundance-shift", c.abundance_shift);
  c.seed = uint64_t(a.integer("seed", 0));
  const workflow::CohortSummary s = workflow::write_semisynthetic_cohort(real, c, a.required("out"));
  info(a.flag("quiet"), "wrote " + std::to_string(s.n_cells) + " cells in " + std::to_string(c.n_samples) +
                            " samples to " + a.required("out") + " (" + s.affected_type + " changed in " +
                            std::to_string(s.n_affected_cells) + " case cells through " + std::to_string(s.n_de_genes) +
                            " genes)");
  return 0;
}

}  // namespace cuvi::cli
