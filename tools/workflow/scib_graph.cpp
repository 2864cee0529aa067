// Graph connectivity: one igraph digraph per label (edges cell -> each listed neighbour of the same label),
// strongly connected components through libigraph.
#include "tools/workflow/scib_graph.h"

#include <algorithm>

#include "tools/workflow/igraph_util.h"
#include "tools/workflow/label_codes.h"

namespace cuvi::workflow {

double graph_connectivity_score(const NeighborGraph& g, const std::vector<int32_t>& labels, int32_t n_labels) {
  const RowGroups grouping = group_rows(labels, n_labels);
  std::vector<int64_t> local(size_t(g.n), -1);  // position of a cell within its label
  double total = 0;
  for (int32_t l = 0; l < n_labels; ++l) {
    const int64_t lo = grouping.seg[size_t(l)], hi = grouping.seg[size_t(l + 1)];
    for (int64_t p = lo; p < hi; ++p) local[size_t(grouping.order[size_t(p)])] = p - lo;
    std::vector<int64_t> from, to;
    for (int64_t p = lo; p < hi; ++p) {
      const int64_t cell = grouping.order[size_t(p)];
      for (int64_t t = 0; t < g.k; ++t) {
        const int32_t j = g.indices[size_t(cell * g.k + t)];
        if (labels[size_t(j)] != l) continue;
        from.push_back(p - lo);
        to.push_back(local[size_t(j)]);
      }
    }
    const IgraphGraph graph(hi - lo, from, to, true);
    int64_t n_comp = 0;
    const std::vector<int64_t> comp = connected_components(graph, true, &n_comp);
    const std::vector<int64_t> sizes = component_sizes(comp, n_comp);
    total += double(*std::max_element(sizes.begin(), sizes.end())) / double(hi - lo);
  }
  return total / double(n_labels);
}

}  // namespace cuvi::workflow
