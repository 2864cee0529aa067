// cuvi metrics: label k-NN accuracy and batch mixing of an embedding stored in an .h5ad's obsm
// (definitions in tools/workflow/metrics.h, shared with the scvi-tools reference script).
#include <cstdio>

#include "io/anndata.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/metrics.h"

namespace cuvi::cli {

int cmd_metrics(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi metrics --data FILE.h5ad [--obsm X_scVI] [--labels-key COL] [--batch-key COL]\n"
        "  [--k-labels 15] [--k-batch 50]\n"
        "prints knn_accuracy (majority label of the k nearest cells) and batch_mixing\n"
        "(mean normalised entropy of batches among the k nearest cells; 1 = fully mixed)\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, {"data", "obsm", "labels-key", "batch-key", "k-labels", "k-batch"});
  const io::AnnDataFile f = io::AnnDataFile::open(a.required("data"));
  int64_t d = 0;
  const std::string key = a.str("obsm", "X_scVI");
  const std::vector<float> z = f.read_obsm(key, &d);
  const int64_t n = f.n_obs();
  std::printf("embedding obsm['%s']: %lld cells x %lld dims\n", key.c_str(), (long long)n, (long long)d);
  if (a.has("labels-key"))
    std::printf("knn_accuracy(%s, k=%lld): %.4f\n", a.str("labels-key").c_str(), a.integer("k-labels", 15),
                workflow::knn_accuracy(z, n, d, categorical_obs(f, a.str("labels-key")).cat.codes, a.integer("k-labels", 15)));
  if (a.has("batch-key"))
    std::printf("batch_mixing(%s, k=%lld): %.4f\n", a.str("batch-key").c_str(), a.integer("k-batch", 50),
                workflow::batch_mixing(z, n, d, categorical_obs(f, a.str("batch-key")).cat.codes, a.integer("k-batch", 50)));
  return 0;
}

}  // namespace cuvi::cli
