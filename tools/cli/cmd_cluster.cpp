// cuvi cluster: cluster labels written to obs: Leiden on the neighbour graph (libigraph, as
// sc.tl.leiden(flavor="igraph")), k-means on an embedding, or average/complete/Ward hierarchical clustering.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "io/anndata.h"
#include "io/h5ad_writer.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/hclust.h"
#include "tools/workflow/kmeans.h"
#include "tools/workflow/leiden.h"

namespace cuvi::cli {
namespace {

constexpr int64_t kMaxHclustCells = 20000;  // the condensed distance matrix holds n (n - 1) / 2 doubles

io::Column cluster_column(const std::string& name, const std::vector<int32_t>& codes, int32_t n_clusters) {
  io::Categorical c;
  for (int32_t k = 0; k < n_clusters; ++k) c.categories.push_back(std::to_string(k));
  c.codes = codes;
  return io::Column::categorical(name, c);
}

std::vector<double> condensed_euclidean(const std::vector<float>& x, int64_t n, int64_t d) {
  std::vector<double> out;
  out.reserve(size_t(n * (n - 1) / 2));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      double s = 0;
      for (int64_t t = 0; t < d; ++t) {
        const double diff = double(x[size_t(i * d + t)]) - double(x[size_t(j * d + t)]);
        s += diff * diff;
      }
      out.push_back(std::sqrt(s));
    }
  return out;
}

// uns entries collected while clustering, written once the labels exist.
struct UnsEntries {
  std::vector<std::pair<std::string, double>> numbers;
  std::vector<std::pair<std::string, int64_t>> integers;
  std::vector<std::pair<std::string, std::string>> strings;
  void write(io::H5adWriter& w) const {
    for (const auto& [k, v] : numbers) w.add_uns_number(k, v);
    for (const auto& [k, v] : integers) w.add_uns_integer(k, v);
    for (const auto& [k, v] : strings) w.add_uns_string(k, v);
  }
};

}  // namespace

int cmd_cluster(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi cluster --data FILE.h5ad --method leiden|kmeans|average|complete|ward --out OUT.h5ad [options]\n"
        "  leiden:  --resolution 1.0 --n-iterations 2 --obsp connectivities (run `cuvi neighbors` first)\n"
        "  kmeans:  --n-clusters K --use-rep X_scVI --n-init 1 --max-iter 300 (k-means++ seeding)\n"
        "  average|complete|ward: --n-clusters K --use-rep X_scVI (Euclidean; at most 20000 cells)\n"
        "  --key-added KEY        obs column (default: the method name); uns[KEY]['params'] records the call\n"
        "  --seed 0 --device auto|cpu|cuda --threads N --quiet\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, {"data", "method", "out", "resolution", "n-iterations", "obsp", "n-clusters", "use-rep", "n-init",
                      "max-iter", "key-added", "seed", "device", "threads"},
               {"quiet"});
  const bool quiet = a.flag("quiet");
  const std::string data = a.required("data"), method = a.required("method"), out = a.required("out");
  const std::string key = a.str("key-added", method);
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  CUVI_CHECK(method == "leiden" || method == "kmeans" || method == "average" || method == "complete" || method == "ward",
             "unknown --method '" + method + "' (leiden, kmeans, average, complete, ward)");
  const io::AnnDataFile f = io::AnnDataFile::open(data);
  const int64_t n = f.n_obs();
  std::vector<int32_t> labels;
  int32_t n_clusters = 0;
  UnsEntries u;
  if (method == "leiden") {
    CUVI_CHECK(!a.has("n-clusters"), "--n-clusters does not apply to leiden (use --resolution)");
    const std::string obsp = a.str("obsp", "connectivities");
    workflow::LeidenOptions o;
    o.resolution = a.number("resolution", 1.0);
    o.n_iterations = a.integer("n-iterations", 2);
    o.seed = seed;
    const workflow::LeidenResult r = workflow::leiden(f.read_obsp(obsp), o);
    labels = r.membership;
    n_clusters = r.n_clusters;
    u.numbers = {{key + "/params/resolution", o.resolution}, {key + "/modularity", r.modularity}};
    u.integers = {{key + "/params/random_state", int64_t(seed)}, {key + "/params/n_iterations", o.n_iterations}};
    u.strings = {{key + "/params/obsp", obsp}};
  } else {
    CUVI_CHECK(!a.has("resolution"), "--resolution applies to leiden only (use --n-clusters)");
    CUVI_CHECK(a.has("n-clusters"), "--n-clusters is required for --method " + method);
    const int64_t K = a.integer("n-clusters", 0);
    int64_t d = 0;
    const std::string rep = a.str("use-rep", "X_scVI");
    const std::vector<float> x = read_embedding(f, rep, &d);
    CUVI_CHECK(K >= 1 && K <= n, "--n-clusters " + std::to_string(K) + " must be in [1, n_cells = " + std::to_string(n) + "]");
    if (method == "kmeans") {
      auto backend = backend_from(a, quiet);
      workflow::KMeansOptions o;
      o.n_clusters = K;
      o.n_init = a.integer("n-init", 1);
      o.max_iter = a.integer("max-iter", 300);
      o.seed = seed;
      const workflow::KMeansResult r = workflow::kmeans(*backend, x.data(), n, d, o);
      labels = r.labels;
      n_clusters = int32_t(K);
      u.numbers = {{key + "/inertia", r.inertia}};
    } else {
      const workflow::Linkage link = workflow::parse_linkage(method);
      CUVI_CHECK(n <= kMaxHclustCells, "hierarchical clustering of " + std::to_string(n) + " cells: at most " +
                                           std::to_string(kMaxHclustCells) + " (use leiden or kmeans)");
      const workflow::Dendrogram dg = workflow::linkage_condensed(condensed_euclidean(x, n, d), n, link);
      const std::vector<int32_t> flat = workflow::cut_maxclust(dg, K);  // 1-based, as scipy's fcluster
      labels.resize(flat.size());
      for (size_t i = 0; i < flat.size(); ++i) {
        labels[i] = flat[i] - 1;
        n_clusters = std::max(n_clusters, flat[i]);
      }
    }
    u.integers = {{key + "/params/n_clusters", K}, {key + "/params/random_state", int64_t(seed)}};
    u.strings = {{key + "/params/use_rep", rep}};
  }
  u.strings.emplace_back(key + "/params/method", method);
  io::H5adWriter w = io::H5adWriter::copy_of(data, out);
  w.add_obs_column(cluster_column(key, labels, n_clusters));
  u.write(w);
  w.commit();
  info(quiet, "wrote obs['" + key + "'] (" + std::to_string(n_clusters) + " clusters of " + std::to_string(n) +
                  " cells, " + method + ") to " + out);
  return 0;
}

}  // namespace cuvi::cli
