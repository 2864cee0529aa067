// cuvi da and cuvi outliers: MRVI differential abundance and outlier cell-sample pairs (spec/mrvi.md §5)
// as netCDF-4 files with scvi-tools' Dataset names (log_probs, {key}_log_probs, {key}_log_enrichs;
// log_probs, log_ratios, is_admissible).
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/mrvi_abundance.h"

namespace cuvi::cli {
namespace {

const std::set<std::string> kCommon = {"model", "data", "out", "batch-size", "seed", "device", "threads"};
const std::set<std::string> kCommonFlags = {"quiet", "strict-counts"};

workflow::MrviInference open(const Args& a, Backend& backend) {
  workflow::MrviInference inf = workflow::open_mrvi_inference(a.required("model"), a.required("data"), backend,
                                                              uint64_t(a.integer("seed", 0)),
                                                              a.integer("batch-size", 256), {}, a.flag("strict-counts"));
  report_data(a.flag("quiet"), inf.data.data);
  return inf;
}

}  // namespace

int da_mrvi(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi da --model MRVI_MODEL --data FILE --out da.nc [options]\n"
        "  --sample-cov-keys COL...   per-sample covariates (constant within each sample) to aggregate over\n"
        "  --sample-subset NAME...    samples each covariate group is restricted to\n"
        "  --compute-log-enrichment   also log q_A - log q_rest per covariate value\n"
        "  --keep-original-sample     do not leave the cell's own sample out of the aggregates\n"
        "  --batch-size 256 --seed 0 --device auto|cpu|cuda --threads N --quiet --strict-counts\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, kCommon, merge({kCommonFlags, {"compute-log-enrichment", "keep-original-sample"}}),
               {"sample-cov-keys", "sample-subset"});
  workflow::DaOptions opt;
  opt.sample_cov_keys = a.list("sample-cov-keys");
  opt.sample_subset = a.list("sample-subset");
  opt.compute_log_enrichment = a.flag("compute-log-enrichment");
  opt.omit_original_sample = !a.flag("keep-original-sample");
  CUVI_CHECK(!opt.compute_log_enrichment || !opt.sample_cov_keys.empty(),
             "--compute-log-enrichment needs --sample-cov-keys");
  auto backend = backend_from(a, a.flag("quiet"));
  workflow::MrviInference inf = open(a, *backend);
  io::NetcdfWriter out(a.required("out"));
  std::vector<std::string> warnings;
  workflow::differential_abundance(*inf.session, inf.data, opt, out, &warnings);
  out.attribute("", "model", a.required("model"));
  out.commit();
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  info(a.flag("quiet"), "wrote differential abundance of " + std::to_string(inf.data.data.counts.n_rows) + " cells to " +
                            a.required("out"));
  return 0;
}

int cmd_outliers(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi outliers --model MRVI_MODEL --data FILE --out outliers.nc [options]\n"
        "  --subsample-size 5000        cells per sample used as posterior components (seeded draw)\n"
        "  --quantile-threshold 0.05    quantile of the within-sample maxima giving the threshold\n"
        "  --admissibility-threshold 0  log ratio above which a cell-sample pair is admissible\n"
        "  --batch-size 256 --seed 0 --device auto|cpu|cuda --threads N --quiet --strict-counts\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, merge({kCommon, {"subsample-size", "quantile-threshold", "admissibility-threshold"}}),
               kCommonFlags);
  workflow::OutlierOptions opt;
  opt.subsample_size = a.integer("subsample-size", opt.subsample_size);
  opt.quantile_threshold = a.number("quantile-threshold", opt.quantile_threshold);
  opt.admissibility_threshold = a.number("admissibility-threshold", opt.admissibility_threshold);
  opt.seed = uint64_t(a.integer("seed", 0));
  auto backend = backend_from(a, a.flag("quiet"));
  workflow::MrviInference inf = open(a, *backend);
  const workflow::OutlierResult r = workflow::outlier_cell_sample_pairs(*inf.session, inf.data, opt);
  io::NetcdfWriter out(a.required("out"));
  workflow::write_outliers(r, inf.data, out);
  out.attribute("", "model", a.required("model"));
  out.commit();
  int64_t admissible = 0;
  for (uint8_t v : r.admissible) admissible += v;
  info(a.flag("quiet"), "wrote outlier cell-sample pairs to " + a.required("out") + " (" + std::to_string(admissible) +
                            " of " + std::to_string(r.admissible.size()) + " pairs admissible, threshold " +
                            std::to_string(r.threshold) + ")");
  return 0;
}

}  // namespace cuvi::cli
