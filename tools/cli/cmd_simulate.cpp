// cuvi simulate: writes a synthetic data set with known truth (see tools/workflow/simulate.h).
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/simulate.h"

namespace cuvi::cli {

int cmd_simulate(const Argv& argv) {
  if (wants_help(argv)) {
    std::fputs(
        "usage: cuvi simulate --out FILE.h5ad [options]\n"
        "  --n-cells 3000 --n-genes 1000 --n-cell-types 5 --n-batches 2 --n-donors 8\n"
        "  --de-fraction 0.05 --de-lfc 1.2 --marker-lfc 1.8 --batch-effect 0.35\n"
        "  --library-median 1500 --atac-peaks 0 --seed 0\n"
        "obs: cell_type, batch, donor, condition (ctrl/stim), sex, age, true_library\n"
        "var: marker_of, is_de, de_log2fc (stim vs ctrl), base_log_expression, theta\n"
        "X and layers['counts']: NB counts; obsm['atac'] when --atac-peaks > 0\n"
        "  --multiome     with --atac-peaks: MULTIVI's layout instead (X = genes then peaks, sparse,\n"
        "                 var['feature_types'] Gene Expression / Peaks; cuvi train multivi reads it)\n",
        stdout);
    return 0;
  }
  const Args a(argv, {"out", "n-cells", "n-genes", "n-cell-types", "n-batches", "n-donors", "de-fraction", "de-lfc",
                      "marker-lfc", "batch-effect", "library-median", "atac-peaks", "seed"},
               {"quiet", "multiome"});
  workflow::SimulationConfig c;
  c.n_cells = a.integer("n-cells", c.n_cells);
  c.n_genes = a.integer("n-genes", c.n_genes);
  c.n_cell_types = a.integer("n-cell-types", c.n_cell_types);
  c.n_batches = a.integer("n-batches", c.n_batches);
  c.n_donors = a.integer("n-donors", std::max<int64_t>(c.n_donors, c.n_batches));
  c.de_fraction = a.number("de-fraction", c.de_fraction);
  c.de_lfc = a.number("de-lfc", c.de_lfc);
  c.marker_lfc = a.number("marker-lfc", c.marker_lfc);
  c.batch_effect = a.number("batch-effect", c.batch_effect);
  c.library_median = a.number("library-median", c.library_median);
  c.n_peaks = a.integer("atac-peaks", 0);
  c.seed = uint64_t(a.integer("seed", 0));
  const std::string out = a.required("out");
  const workflow::SimulatedData d = workflow::simulate(c);
  workflow::write_simulation(d, c, out, a.flag("multiome"));
  const double density = double(d.counts.data.size()) / double(d.counts.n_rows * d.counts.n_cols);
  info(a.flag("quiet"), "simulated " + std::to_string(c.n_cells) + " cells x " + std::to_string(c.n_genes) +
                            " genes (" + std::to_string(int(density * 100)) + "% non-zero), " +
                            std::to_string(c.n_cell_types) + " cell types, " + std::to_string(c.n_batches) +
                            " batches, " + std::to_string(c.n_donors) + " donors -> " + out);
  return 0;
}

}  // namespace cuvi::cli
