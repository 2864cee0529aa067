// cuvi neighbors: the exact k-nearest-neighbour graph of an obsm embedding in scanpy's layout
// (obsp distances + UMAP connectivities, uns['neighbors']), so sc.tl.umap / sc.tl.leiden run on it unchanged.
#include <cstdio>

#include "io/anndata.h"
#include "io/h5ad_writer.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/connectivities.h"
#include "tools/workflow/neighbors.h"

namespace cuvi::cli {

int cmd_neighbors(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi neighbors --data FILE.h5ad --use-rep X_scVI --out OUT.h5ad [options]\n"
        "  --n-neighbors 15       neighbours per cell, the cell itself included (scanpy's n_neighbors; 2..129)\n"
        "  --key-added KEY        store uns[KEY], obsp[KEY_distances], obsp[KEY_connectivities]\n"
        "                         (default: uns['neighbors'], obsp['distances'], obsp['connectivities'])\n"
        "  --device auto|cpu|cuda --threads N --quiet\n"
        "exact Euclidean search (tiled distance GEMM + per-row top-k); connectivities as UMAP's fuzzy simplicial\n"
        "set (scanpy's method='umap')\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, {"data", "use-rep", "out", "n-neighbors", "key-added", "device", "threads", "seed"}, {"quiet"});
  const bool quiet = a.flag("quiet");
  const std::string data = a.required("data"), rep = a.required("use-rep"), out = a.required("out");
  const int64_t k = a.integer("n-neighbors", 15);
  const io::AnnDataFile f = io::AnnDataFile::open(data);
  int64_t d = 0;
  const std::vector<float> x = read_embedding(f, rep, &d);
  const int64_t n = f.n_obs();
  CUVI_CHECK(k >= 2 && k <= n, "--n-neighbors " + std::to_string(k) + " must be in [2, n_cells = " + std::to_string(n) + "]");
  auto backend = backend_from(a, quiet);
  const workflow::NeighborGraph g = workflow::nearest_neighbors(*backend, x.data(), n, d, k);
  const io::CsrMatrix conn = workflow::umap_connectivities(g);
  const std::string key = a.str("key-added");
  const std::string uns = key.empty() ? "neighbors" : key;
  const std::string dist_key = key.empty() ? "distances" : key + "_distances";
  const std::string conn_key = key.empty() ? "connectivities" : key + "_connectivities";
  io::H5adWriter w = io::H5adWriter::copy_of(data, out);
  w.add_obsp_csr(dist_key, workflow::distance_matrix(g, false));
  w.add_obsp_csr(conn_key, conn);
  w.add_uns_string(uns + "/connectivities_key", conn_key);
  w.add_uns_string(uns + "/distances_key", dist_key);
  w.add_uns_integer(uns + "/params/n_neighbors", k);
  w.add_uns_string(uns + "/params/method", "umap");
  w.add_uns_integer(uns + "/params/random_state", 0);
  w.add_uns_string(uns + "/params/metric", "euclidean");
  w.add_uns_string(uns + "/params/use_rep", rep);
  w.commit();
  info(quiet, "wrote obsp['" + dist_key + "'], obsp['" + conn_key + "'] (" + std::to_string(n) + " cells, " +
                  std::to_string(k) + " neighbours of obsm['" + rep + "']) and uns['" + uns + "'] to " + out);
  return 0;
}

}  // namespace cuvi::cli
