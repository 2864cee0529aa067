// cuvi de for MRVI models: counterfactual differential expression (spec/mrvi.md §5) written as a
// netCDF-4 file with scvi-tools' Dataset names (beta, effect_size, pvalue, padj, [n_samples], [lfc,
// lfc_std, pde]).
#include <cmath>
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/mrvi_de.h"

namespace cuvi::cli {

const char* kMrviDeHelp =
    "usage (MRVI model): cuvi de --model MODEL --data FILE --sample-cov-keys COL... --out de.nc [options]\n"
    "  --sample-cov-keys COL...        per-sample covariates of the design matrix (one value per sample)\n"
    "  --sample-subset NAME...         samples to regress over (default: all)\n"
    "  --store-lfc                     also decode log fold changes per gene (lfc, lfc_std, pde)\n"
    "  --store-lfc-metadata-subset COL...  keys whose covariates get LFCs (default: all)\n"
    "  --delta 0.3|none                LFC threshold of pde; none skips lfc_std and pde\n"
    "  --eps-lfc 1e-4                  added to both expressions before the log2 ratio\n"
    "  --filter-inadmissible-samples   regress each cell on its admissible samples only (cuvi outliers'\n"
    "                                  rule; --subsample-size --quantile-threshold --admissibility-threshold)\n"
    "  --lambd 0                       ridge penalty of the per-cell regression\n"
    "  --add-batch-specific-offsets    one offset column per batch (samples nested in batches)\n"
    "  --no-normalize-design-matrix    keep covariates unscaled (default: min-max to [0, 1])\n"
    "  --mc-samples 50 --batch-size 128 --seed 0 --device auto|cpu|cuda --threads N --quiet --strict-counts\n";

int de_mrvi(const Argv& argv) {
  const Args a(argv,
               {"model", "data", "out", "delta", "eps-lfc", "lambd", "mc-samples", "batch-size", "seed", "device",
                "threads", "subsample-size", "quantile-threshold", "admissibility-threshold"},
               {"store-lfc", "filter-inadmissible-samples", "add-batch-specific-offsets", "no-normalize-design-matrix",
                "quiet", "strict-counts"},
               {"sample-cov-keys", "sample-subset", "store-lfc-metadata-subset"});
  const bool quiet = a.flag("quiet");
  workflow::MrviDeOptions opt;
  opt.sample_cov_keys = a.list("sample-cov-keys");
  CUVI_CHECK(!opt.sample_cov_keys.empty(), "an MRVI model's DE needs --sample-cov-keys");
  opt.sample_subset = a.list("sample-subset");
  opt.store_lfc = a.flag("store-lfc");
  opt.store_lfc_metadata_subset = a.list("store-lfc-metadata-subset");
  CUVI_CHECK(opt.store_lfc || opt.store_lfc_metadata_subset.empty(), "--store-lfc-metadata-subset needs --store-lfc");
  opt.delta = a.str("delta", "0.3") == "none" ? NAN : a.number("delta", 0.3);
  opt.eps_lfc = a.number("eps-lfc", opt.eps_lfc);
  opt.lambd = a.number("lambd", 0.0);
  opt.mc_samples = a.integer("mc-samples", opt.mc_samples);
  opt.filter_inadmissible_samples = a.flag("filter-inadmissible-samples");
  opt.add_batch_specific_offsets = a.flag("add-batch-specific-offsets");
  opt.normalize_design_matrix = !a.flag("no-normalize-design-matrix");
  opt.seed = uint64_t(a.integer("seed", 0));
  opt.outliers.subsample_size = a.integer("subsample-size", opt.outliers.subsample_size);
  opt.outliers.quantile_threshold = a.number("quantile-threshold", opt.outliers.quantile_threshold);
  opt.outliers.admissibility_threshold = a.number("admissibility-threshold", opt.outliers.admissibility_threshold);
  opt.outliers.seed = opt.seed;
  auto backend = backend_from(a, quiet);
  workflow::MrviInference inf =
      workflow::open_mrvi_inference(a.required("model"), a.required("data"), *backend, opt.seed,
                                    a.integer("batch-size", 128), {}, a.flag("strict-counts"), opt.max_rows);
  report_data(quiet, inf.data.data);
  io::NetcdfWriter out(a.required("out"));
  std::vector<std::string> warnings;
  workflow::differential_expression(*inf.session, inf.data, opt, out, &warnings);
  out.attribute("", "model", a.required("model"));
  out.commit();
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  info(quiet, "wrote MRVI differential expression of " + std::to_string(inf.data.data.counts.n_rows) + " cells to " +
                  a.required("out"));
  return 0;
}

}  // namespace cuvi::cli
