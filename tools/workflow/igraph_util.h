// Owning wrappers over the libigraph C API used by the latent-space analyses: graphs, vectors, error
// codes turned into cuvi::Error, and connected components.
#pragma once
#include <igraph.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cuvi::workflow {

// Fails with "<what>: <igraph's message>" unless code is IGRAPH_SUCCESS. Installs a non-aborting handler.
void igraph_ok(igraph_error_t code, const char* what);

class IgraphGraph {
 public:
  // Edges (from[e], to[e]) over n vertices.
  IgraphGraph(int64_t n, const std::vector<int64_t>& from, const std::vector<int64_t>& to, bool directed);
  ~IgraphGraph();
  IgraphGraph(const IgraphGraph&) = delete;
  IgraphGraph& operator=(const IgraphGraph&) = delete;
  const igraph_t* get() const { return &m_graph; }

 private:
  igraph_t m_graph;
};

// Component of every vertex (0-based, igraph's numbering); strong: directed reachability both ways.
std::vector<int64_t> connected_components(const IgraphGraph& g, bool strong, int64_t* n_components);

// Sizes of the components in a membership vector.
std::vector<int64_t> component_sizes(const std::vector<int64_t>& membership, int64_t n_components);

}  // namespace cuvi::workflow
