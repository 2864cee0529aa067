// Leiden through libigraph: edge list and weights from the CSR, strengths as node weights, igraph's default
// RNG seeded per call, membership renumbered by cluster size.
#include "tools/workflow/leiden.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "engine/error.h"
#include "tools/workflow/igraph_util.h"

namespace cuvi::workflow {
namespace {

struct RealVector {
  igraph_vector_t v;
  explicit RealVector(int64_t n) { igraph_ok(igraph_vector_init(&v, n), "igraph_vector_init"); }
  ~RealVector() { igraph_vector_destroy(&v); }
};
struct IntVec {
  igraph_vector_int_t v;
  IntVec() { igraph_ok(igraph_vector_int_init(&v, 0), "igraph_vector_int_init"); }
  ~IntVec() { igraph_vector_int_destroy(&v); }
};

}  // namespace

std::vector<int32_t> renumber_by_size(const std::vector<int32_t>& membership, int32_t* n_clusters) {
  int32_t k = 0;
  for (int32_t c : membership) k = std::max(k, c + 1);
  std::vector<int64_t> size(size_t(k), 0), first(size_t(k), int64_t(membership.size()));
  for (size_t i = 0; i < membership.size(); ++i) {
    ++size[size_t(membership[i])];
    first[size_t(membership[i])] = std::min(first[size_t(membership[i])], int64_t(i));
  }
  std::vector<int32_t> order;
  for (int32_t c = 0; c < k; ++c)
    if (size[size_t(c)] > 0) order.push_back(c);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return size[size_t(a)] != size[size_t(b)] ? size[size_t(a)] > size[size_t(b)] : first[size_t(a)] < first[size_t(b)];
  });
  std::vector<int32_t> code(size_t(k), -1);
  for (size_t r = 0; r < order.size(); ++r) code[size_t(order[r])] = int32_t(r);
  std::vector<int32_t> out(membership.size());
  for (size_t i = 0; i < membership.size(); ++i) out[i] = code[size_t(membership[i])];
  *n_clusters = int32_t(order.size());
  return out;
}

LeidenResult leiden(const io::CsrMatrix& adjacency, const LeidenOptions& opts) {
  const int64_t n = adjacency.n_rows;
  CUVI_CHECK(adjacency.n_cols == n, "leiden: the adjacency matrix is not square (" + std::to_string(n) + " x " +
                                        std::to_string(adjacency.n_cols) + ")");
  CUVI_CHECK(opts.resolution > 0, "leiden: the resolution must be positive");
  std::vector<int64_t> from, to;
  from.reserve(adjacency.indices.size());
  to.reserve(adjacency.indices.size());
  RealVector weights(adjacency.nnz()), strength(n);
  igraph_vector_null(&strength.v);
  double total = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = adjacency.indptr[size_t(i)]; p < adjacency.indptr[size_t(i + 1)]; ++p) {
      const int64_t j = adjacency.indices[size_t(p)];
      const double w = adjacency.data[size_t(p)];
      CUVI_CHECK(w >= 0 && std::isfinite(w), "leiden: edge weights must be finite and non-negative");
      VECTOR(weights.v)[int64_t(from.size())] = w;
      from.push_back(i);
      to.push_back(j);
      VECTOR(strength.v)[i] += w;  // an undirected edge adds its weight to both ends (a loop: twice)
      VECTOR(strength.v)[j] += w;
      total += 2 * w;
    }
  const IgraphGraph graph(n, from, to, false);
  igraph_ok(igraph_rng_seed(igraph_rng_default(), opts.seed), "igraph_rng_seed");
  IntVec membership;
  igraph_integer_t nb = 0;
  igraph_real_t quality = 0;
  const double resolution = total > 0 ? opts.resolution / total : opts.resolution;
  igraph_ok(igraph_community_leiden(graph.get(), &weights.v, &strength.v, resolution, opts.beta, false,
                                    opts.n_iterations, &membership.v, &nb, &quality),
            "igraph_community_leiden");
  std::vector<int32_t> raw(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) raw[size_t(i)] = int32_t(VECTOR(membership.v)[i]);
  LeidenResult r;
  r.membership = renumber_by_size(raw, &r.n_clusters);
  r.quality = quality;
  igraph_ok(igraph_modularity(graph.get(), &membership.v, &weights.v, opts.resolution, false, &r.modularity),
            "igraph_modularity");
  return r;
}

}  // namespace cuvi::workflow
