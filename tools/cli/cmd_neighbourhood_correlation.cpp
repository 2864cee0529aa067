// cuvi neighbourhood-correlation: regularizedvi's label-free integration metric (regularizedvi.md §2): marker-gene
// correlation of each cell with its k-NN neighbours of an embedding, stratified by library / dataset / technical
// masks; the per-cell table (compute_marker_correlation) and the headline summary as CSV.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "engine/error.h"
#include "io/anndata.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/connectivities.h"
#include "tools/workflow/neighbors.h"
#include "tools/workflow/neighbourhood_correlation.h"
#include "tools/workflow/result_table.h"

namespace cuvi::cli {
namespace {

// Codes of an obs column as pandas' astype("category").cat.codes (sorted values; missing = -1) and names.
std::vector<int32_t> obs_codes(const io::AnnDataFile& f, const std::string& key, std::vector<std::string>* names) {
  const io::Column& c = f.obs().require(key, f.path(), "obs");
  std::vector<int32_t> codes;
  if (c.kind == io::ColumnKind::Categorical) {
    *names = c.cat.categories;
    return c.cat.codes;
  }
  if (c.kind == io::ColumnKind::String) {
    std::set<std::string> seen;
    for (const auto& s : c.strings)
      if (!s.empty()) seen.insert(s);
    names->assign(seen.begin(), seen.end());
    for (const auto& s : c.strings)
      codes.push_back(s.empty() ? -1 : int32_t(std::lower_bound(names->begin(), names->end(), s) - names->begin()));
    return codes;
  }
  std::set<double> seen;
  for (double v : c.numeric)
    if (!std::isnan(v)) seen.insert(v);
  const std::vector<double> vals(seen.begin(), seen.end());
  names->clear();
  for (double v : vals) names->push_back(workflow::python_float_repr(v));
  for (double v : c.numeric)
    codes.push_back(std::isnan(v) ? -1 : int32_t(std::lower_bound(vals.begin(), vals.end(), v) - vals.begin()));
  return codes;
}

std::vector<int32_t> markers_from_file(const std::string& path, const std::vector<std::string>& genes) {
  std::ifstream in(path);
  CUVI_CHECK(in.good(), path + ": cannot open the marker list");
  std::map<std::string, int32_t> pos;
  for (size_t g = 0; g < genes.size(); ++g) pos.emplace(genes[g], int32_t(g));
  std::set<int32_t> found;
  std::string name;
  while (in >> name) {
    const auto it = pos.find(name);
    if (it != pos.end()) found.insert(it->second);
  }
  CUVI_CHECK(!found.empty(), path + ": none of the listed marker genes is among the data's var_names");
  return {found.begin(), found.end()};  // gene order, as var_names.isin
}

}  // namespace

int cmd_neighbourhood_correlation(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi neighbourhood-correlation --data FILE.h5ad --use-rep KEY --library-key COL --out cells.csv\n"
        "  --dataset-key COL                 study grouping (each library in one dataset): cross_library,\n"
        "                                    cross_dataset masks\n"
        "  --technical-covariate-keys A B..  within_/between_{key} masks and cross_technical (differs in any)\n"
        "  --markers FILE                    marker genes, one var name per line (names not in the data ignored)\n"
        "  --n-markers 500                   else: the N genes of largest variance of depth-normalised counts\n"
        "  --layer NAME                      counts from a layer (default X)\n"
        "  --n-neighbors 15                  k of the k-NN graph of obsm[KEY] (the cell itself included, as scanpy)\n"
        "  --summary FILE.csv                headline metrics (summarise_marker_correlation + composite score)\n"
        "  --min-neighbours 1                cells counted in the cross-mask medians\n"
        "  --device auto|cpu|cuda --threads N --quiet\n"
        "the graph is UMAP's connectivities of the exact Euclidean k-NN (scanpy's neighbors); correlations are\n"
        "Pearson over the markers, counts scaled by n_genes / total counts of the cell (regularizedvi.plt)\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv,
               {"data", "use-rep", "library-key", "dataset-key", "markers", "n-markers", "layer", "n-neighbors", "out",
                "summary", "min-neighbours", "device", "threads", "seed"},
               {"quiet"}, {"technical-covariate-keys"});
  const bool quiet = a.flag("quiet");
  const std::string data = a.required("data"), rep = a.required("use-rep"), out = a.required("out");
  CUVI_CHECK(!(a.has("markers") && a.has("n-markers")), "give --markers or --n-markers, not both");
  const io::AnnDataFile f = io::AnnDataFile::open(data);
  const int64_t n = f.n_obs(), k = a.integer("n-neighbors", 15);
  CUVI_CHECK(k >= 2 && k <= n, "--n-neighbors " + std::to_string(k) + " must be in [2, n_cells = " + std::to_string(n) + "]");

  workflow::NeighbourhoodCovariates cov;
  std::vector<std::string> lib_names, ds_names, ignored;
  cov.library_key = a.required("library-key");
  cov.library = obs_codes(f, cov.library_key, &lib_names);
  if (a.has("dataset-key")) {
    cov.dataset_key = a.str("dataset-key");
    cov.dataset = obs_codes(f, cov.dataset_key, &ds_names);
    workflow::validate_covariate_hierarchy(cov, lib_names, ds_names);
  }
  for (const std::string& key : a.list("technical-covariate-keys")) {
    cov.technical_keys.push_back(key);
    cov.technical.push_back(obs_codes(f, key, &ignored));
  }

  io::ReadOptions ro;
  ro.allow_fractional_counts = true;
  const std::string layer = a.str("layer");
  const io::CsrMatrix counts = f.read_matrix(layer.empty() ? "X" : layer, ro);
  const std::vector<std::string>& genes = f.var().index;
  const std::vector<int32_t> markers = a.has("markers") ? markers_from_file(a.str("markers"), genes)
                                                        : workflow::top_variable_markers(counts, a.integer("n-markers", 500));

  int64_t d = 0;
  const std::vector<float> x = read_embedding(f, rep, &d);
  auto backend = backend_from(a, quiet);
  const workflow::NeighborGraph g = workflow::nearest_neighbors(*backend, x.data(), n, d, k);
  const io::CsrMatrix conn = workflow::umap_connectivities(g);

  const workflow::ResultTable cells = workflow::marker_correlation(counts, markers, conn, cov, f.obs().index);
  const workflow::ResultTable summary =
      workflow::summarise_marker_correlation(cells, cov, a.integer("min-neighbours", 1));
  workflow::write_csv(cells, out);
  if (a.has("summary")) workflow::write_csv(summary, a.str("summary"));
  info(quiet, "wrote " + std::to_string(cells.columns.size()) + " per-cell columns for " + std::to_string(n) +
                  " cells (" + std::to_string(markers.size()) + " markers, " + std::to_string(k) +
                  " neighbours of obsm['" + rep + "']) to " + out);
  const workflow::ResultColumn& v = summary.columns[0];
  for (size_t i = 0; i < summary.index.size() && !quiet; ++i)
    std::fprintf(stderr, "  %-30s %s\n", summary.index[i].c_str(), std::isnan(v.num[i]) ? "nan" : workflow::python_float_repr(v.num[i]).c_str());
  return 0;
}

}  // namespace cuvi::cli
