// cuvi benchmark: scib-metrics' Benchmarker (bio conservation + batch correction, aggregate scores) over
// obsm embeddings of one .h5ad, written as get_results()'s CSV table.
#include <cstdio>

#include "io/anndata.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/label_codes.h"
#include "tools/workflow/result_table.h"
#include "tools/workflow/scib_benchmark.h"
#include "tools/workflow/scib_pcr.h"

namespace cuvi::cli {
namespace {

// Codes over the categories present and those categories' names.
std::vector<int32_t> present_codes(const io::AnnDataFile& f, const std::string& key, std::vector<std::string>* names) {
  const io::Column& c = categorical_obs(f, key);
  int32_t n = 0;
  const std::vector<int32_t> codes = workflow::compact_codes(c.cat.codes, &n, f.path() + ": obs '" + key + "'");
  names->assign(size_t(n), "");
  for (size_t i = 0; i < codes.size(); ++i) (*names)[size_t(codes[i])] = c.cat.categories[size_t(c.cat.codes[i])];
  return codes;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

}  // namespace

int cmd_benchmark(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi benchmark --data FILE.h5ad --embeddings X_scVI X_pca ... --labels-key COL --batch-key COL\n"
        "                      --out scib.csv [options]\n"
        "  --pre-integrated KEY   obsm embedding before integration, for PCR comparison (default: 50 principal\n"
        "                         components of X, as the Benchmarker's prepare(); --layer picks another matrix)\n"
        "  --leiden               also Leiden NMI/ARI (off in the Benchmarker's defaults)\n"
        "  --device auto|cpu|cuda --threads N --quiet\n"
        "metrics (scib-metrics 0.6 defaults): Isolated labels, KMeans NMI/ARI, Silhouette label, cLISI, BRAS,\n"
        "iLISI, KBET, Graph connectivity, PCR comparison; Batch correction / Bio conservation means and\n"
        "Total = 0.4 batch + 0.6 bio. One exact 90-neighbour search per embedding serves every graph metric.\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, {"data", "labels-key", "batch-key", "out", "pre-integrated", "layer", "device", "threads", "seed"},
               {"quiet", "leiden"}, {"embeddings"});
  const bool quiet = a.flag("quiet");
  const io::AnnDataFile f = io::AnnDataFile::open(a.required("data"));
  const std::string out = a.required("out");
  const std::vector<std::string> keys = a.list("embeddings");
  CUVI_CHECK(!keys.empty(), "--embeddings needs at least one obsm key");
  workflow::BenchmarkData d;
  d.n = f.n_obs();
  d.labels = present_codes(f, a.required("labels-key"), &d.label_names);
  d.batches = present_codes(f, a.required("batch-key"), &d.batch_names);
  std::vector<workflow::Embedding> embs;
  for (const std::string& k : keys) {
    workflow::Embedding e;
    e.key = k;
    e.x = read_embedding(f, k, &e.d);
    embs.push_back(std::move(e));
  }
  if (a.has("pre-integrated")) {
    d.pre_integrated = read_embedding(f, a.str("pre-integrated"), &d.pre_d);
  } else {
    io::ReadOptions o;
    o.require_counts = false;
    const io::CsrMatrix x = f.read_matrix(a.str("layer"), o);
    d.pre_integrated = workflow::pca_coordinates(x, &d.pre_d);
    info(quiet, "pre-integrated embedding: " + std::to_string(d.pre_d) + " principal components of " +
                    (a.has("layer") ? "layer '" + a.str("layer") + "'" : std::string("X")));
  }
  workflow::BenchmarkMetrics which;
  which.leiden_nmi_ari = a.flag("leiden");
  auto backend = backend_from(a, quiet);
  const workflow::BenchmarkTable t = workflow::run_benchmark(*backend, d, embs, which);
  const workflow::ResultTable r = workflow::results_table(t);
  workflow::write_csv(r, out);
  if (!quiet) std::fputs(workflow::to_csv(r).c_str(), stdout);
  for (size_t e = 0; e < t.embeddings.size(); ++e) {
    std::string line = t.embeddings[e] + ": " + seconds(t.seconds[e]) + " (neighbours " + seconds(t.neighbor_seconds[e]);
    for (size_t m = 0; m < t.metrics.size(); ++m) line += ", " + t.metrics[m] + " " + seconds(t.metric_seconds[e][m]);
    info(quiet, line + ")");
  }
  info(quiet, "wrote " + out);
  return 0;
}

}  // namespace cuvi::cli
