// cuvi distances: MRVI local sample distances (spec/mrvi.md §5 get_local_sample_distances) as a netCDF-4
// file that xarray.open_dataset reads like scvi-tools' Dataset: "cell" (cell_name, sample_x, sample_y)
// with --keep-cell, and one variable per --groupby key ({key}_name, sample_x, sample_y); with --cluster,
// each group's hierarchical clustering of the samples ({key}_linkage, {key}_order, {key}_newick).
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/mrvi_distances.h"
#include "tools/workflow/mrvi_sample_clusters.h"

namespace cuvi::cli {

int cmd_distances(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi distances --model MRVI_MODEL --data FILE --out dist.nc [options]\n"
        "  --groupby COL...         average the per-cell matrices over each category of each obs key\n"
        "  --keep-cell              also write every cell's S x S matrix (N * S^2 * 4 bytes)\n"
        "  --norm l2|l1|linf        distance between counterfactual representations (default l2)\n"
        "  --sampled                Monte Carlo draws of u instead of posterior means (adds mc_sample)\n"
        "  --normalize              normalise by the spread of the cell's own-sample draws (l2, draws)\n"
        "  --mc-samples 10          draws for --sampled and --normalize\n"
        "  --cluster                cluster the samples of every --groupby matrix (scipy's linkage): writes\n"
        "                           {key}_linkage (Z), {key}_order (leaves) and {key}_newick per group\n"
        "  --linkage average        linkage of --cluster: average, complete or ward\n"
        "  --batch-size 256 --seed 0 --device auto|cpu|cuda --threads N --quiet --strict-counts\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv,
               {"model", "data", "out", "norm", "mc-samples", "batch-size", "seed", "device", "threads", "linkage"},
               {"keep-cell", "sampled", "normalize", "quiet", "strict-counts", "cluster"}, {"groupby"});
  const bool quiet = a.flag("quiet");
  workflow::DistanceOptions opt;
  opt.norm = a.str("norm", "l2");
  opt.use_mean = !a.flag("sampled");
  opt.normalize = a.flag("normalize");
  opt.mc_samples = a.integer("mc-samples", 10);
  opt.groupby = a.list("groupby");
  opt.keep_cell = a.flag("keep-cell");
  opt.seed = uint64_t(a.integer("seed", 0));
  CUVI_CHECK(opt.norm == "l2" || opt.norm == "l1" || opt.norm == "linf",
             "--norm '" + opt.norm + "' is not one of: l2, l1, linf");
  CUVI_CHECK(!opt.normalize || opt.norm == "l2", "--normalize needs --norm l2");
  const bool cluster = a.flag("cluster");
  const std::string linkage = a.str("linkage", "average");
  CUVI_CHECK(cluster || !a.has("linkage"), "--linkage needs --cluster");
  CUVI_CHECK(!cluster || !opt.groupby.empty(),
             "--cluster clusters the samples of the --groupby matrices: give --groupby KEY");
  CUVI_CHECK(opt.keep_cell || !opt.groupby.empty(), "nothing to compute: give --groupby keys, --keep-cell, or both");
  CUVI_CHECK(linkage == "average" || linkage == "complete" || linkage == "ward",
             "--linkage '" + linkage + "' is not one of: average, complete, ward");
  CUVI_CHECK(!cluster || (!opt.normalize && !a.flag("sampled")),
             "--cluster needs one matrix of distances per group: drop --sampled and --normalize");
  const workflow::Linkage method = workflow::parse_linkage(linkage);
  if (opt.normalize && a.flag("sampled")) info(quiet, "note: --normalize always uses draws; --sampled is implied");
  const int64_t batch = a.integer("batch-size", 256);
  CUVI_CHECK(batch >= 1 && opt.mc_samples >= 1, "--batch-size and --mc-samples must be positive");
  auto backend = backend_from(a, quiet);
  workflow::MrviInference inf = workflow::open_mrvi_inference(
      a.required("model"), a.required("data"), *backend, opt.seed, batch, {}, a.flag("strict-counts"), opt.max_rows);
  report_data(quiet, inf.data.data);
  const int64_t N = inf.data.data.counts.n_rows, S = inf.model->config().n_sample;
  if (opt.keep_cell) {
    const double gib = workflow::cell_distance_bytes(N, S, opt) / double(1ull << 30);
    if (gib > 1.0)
      std::fprintf(stderr, "warning: --keep-cell writes %.1f GiB (%lld cells x %lld x %lld samples); --groupby alone "
                           "keeps only the averages\n", gib, (long long)N, (long long)S, (long long)S);
  }
  io::NetcdfWriter out(a.required("out"));
  const std::vector<workflow::GroupDistances> groups =
      workflow::local_sample_distances(*inf.session, inf.data, opt, out);
  if (cluster)
    workflow::write_sample_clusters(workflow::cluster_samples(groups, inf.data.registry.sample_categories, method),
                                    method, out);
  out.attribute("", "model", a.required("model"));
  out.commit();
  info(quiet, "wrote local sample distances of " + std::to_string(N) + " cells x " + std::to_string(S) + " samples" +
                  (cluster ? std::string(" and their ") + workflow::linkage_name(method) + "-linkage trees" : "") +
                  " to " + a.required("out"));
  return 0;
}

}  // namespace cuvi::cli
