// libigraph glue: igraph's default error handler aborts the process, so it is replaced once by the
// ignoring handler and every call's code is checked here instead.
#include "tools/workflow/igraph_util.h"

#include <mutex>

#include "engine/error.h"

namespace cuvi::workflow {
namespace {

void install_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_set_warning_handler(igraph_warning_handler_ignore);
  });
}

struct IntVector {
  igraph_vector_int_t v;
  explicit IntVector(int64_t n) { igraph_ok(igraph_vector_int_init(&v, n), "igraph_vector_int_init"); }
  ~IntVector() { igraph_vector_int_destroy(&v); }
};

}  // namespace

void igraph_ok(igraph_error_t code, const char* what) {
  install_handler();
  if (code != IGRAPH_SUCCESS) fail(std::string(what) + ": " + igraph_strerror(code));
}

IgraphGraph::IgraphGraph(int64_t n, const std::vector<int64_t>& from, const std::vector<int64_t>& to, bool directed) {
  install_handler();
  IntVector edges(int64_t(2 * from.size()));
  for (size_t e = 0; e < from.size(); ++e) {
    VECTOR(edges.v)[2 * e] = from[e];
    VECTOR(edges.v)[2 * e + 1] = to[e];
  }
  igraph_ok(igraph_create(&m_graph, &edges.v, n, directed ? IGRAPH_DIRECTED : IGRAPH_UNDIRECTED), "igraph_create");
}

IgraphGraph::~IgraphGraph() { igraph_destroy(&m_graph); }

std::vector<int64_t> connected_components(const IgraphGraph& g, bool strong, int64_t* n_components) {
  IntVector membership(0);
  igraph_integer_t no = 0;
  igraph_ok(igraph_connected_components(g.get(), &membership.v, nullptr, &no, strong ? IGRAPH_STRONG : IGRAPH_WEAK),
            "igraph_connected_components");
  *n_components = no;
  const int64_t n = igraph_vector_int_size(&membership.v);
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = VECTOR(membership.v)[i];
  return out;
}

std::vector<int64_t> component_sizes(const std::vector<int64_t>& membership, int64_t n_components) {
  std::vector<int64_t> sizes(size_t(n_components), 0);
  for (int64_t c : membership) ++sizes[size_t(c)];
  return sizes;
}

}  // namespace cuvi::workflow
