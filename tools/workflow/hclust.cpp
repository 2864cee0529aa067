// Hierarchical clustering as scipy.cluster.hierarchy: nn_chain with Lance-Williams distance updates,
// stable sort of the merges by distance, union-find relabelling (label()), pre-order leaves (prelist), the
// maxclust cut (cluster_maxclust_monocrit + cluster_monocrit) and a Newick writer.
#include "tools/workflow/hclust.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "engine/error.h"

namespace cuvi::workflow {
namespace {

// Position of (i, j), i != j, in the condensed upper triangle.
inline int64_t condensed_index(int64_t n, int64_t i, int64_t j) {
  if (i > j) std::swap(i, j);
  return n * i - (i * (i + 1)) / 2 + (j - i - 1);
}

// Lance-Williams update of the distance from cluster i to the union of x and y (scipy's formulas).
double new_dist(Linkage m, double d_xi, double d_yi, double d_xy, double size_x, double size_y, double size_i) {
  switch (m) {
    case Linkage::Complete:
      return std::max(d_xi, d_yi);
    case Linkage::Average:
      return (size_x * d_xi + size_y * d_yi) / (size_x + size_y);
    case Linkage::Ward: {
      const double t = 1.0 / (size_x + size_y + size_i);
      return std::sqrt((size_i + size_x) * t * d_xi * d_xi + (size_i + size_y) * t * d_yi * d_yi -
                       size_i * t * d_xy * d_xy);
    }
  }
  return 0;
}

// scipy's LinkageUnionFind.
struct UnionFind {
  std::vector<int64_t> parent, size;
  int64_t next;
  explicit UnionFind(int64_t n) : parent(size_t(2 * n - 1)), size(size_t(2 * n - 1), 1), next(n) {
    std::iota(parent.begin(), parent.end(), 0);
  }
  int64_t find(int64_t x) {
    int64_t p = x;
    while (parent[size_t(x)] != x) x = parent[size_t(x)];
    while (parent[size_t(p)] != x) {
      const int64_t up = parent[size_t(p)];
      parent[size_t(p)] = x;
      p = up;
    }
    return x;
  }
  int64_t merge(int64_t x, int64_t y) {
    parent[size_t(x)] = next;
    parent[size_t(y)] = next;
    const int64_t s = size[size_t(x)] + size[size_t(y)];
    size[size_t(next)] = s;
    ++next;
    return s;
  }
};

std::vector<int64_t> prelist(const Dendrogram& d) {
  std::vector<int64_t> out;
  if (d.n == 1) return {0};
  std::vector<int64_t> stack{2 * d.n - 2};
  while (!stack.empty()) {
    const int64_t id = stack.back();
    stack.pop_back();
    if (id < d.n) {
      out.push_back(id);
      continue;
    }
    stack.push_back(d.right(id - d.n));  // popped after the whole left subtree
    stack.push_back(d.left(id - d.n));
  }
  return out;
}

}  // namespace

Linkage parse_linkage(const std::string& name) {
  if (name == "average") return Linkage::Average;
  if (name == "complete") return Linkage::Complete;
  if (name == "ward") return Linkage::Ward;
  fail("unknown linkage method '" + name + "' (average, complete, ward)");
}

Dendrogram linkage_condensed(const std::vector<double>& condensed, int64_t n, Linkage method) {
  CUVI_CHECK(n >= 1, "linkage: no observations");
  CUVI_CHECK(int64_t(condensed.size()) == n * (n - 1) / 2,
             "linkage: a condensed distance matrix of " + std::to_string(n) + " observations has " +
                 std::to_string(n * (n - 1) / 2) + " values, got " + std::to_string(condensed.size()));
  for (double v : condensed)
    CUVI_CHECK(std::isfinite(v) && v >= 0, "linkage: distances must be finite and non-negative");
  Dendrogram out;
  out.n = n;
  if (n == 1) {
    out.leaves = {0};
    return out;
  }
  std::vector<double> D = condensed, Z(size_t(4 * (n - 1)));
  std::vector<int64_t> size(size_t(n), 1), chain(static_cast<size_t>(n));
  int64_t chain_length = 0;
  for (int64_t k = 0; k < n - 1; ++k) {
    if (chain_length == 0) {
      chain_length = 1;
      for (int64_t i = 0; i < n; ++i)
        if (size[size_t(i)] > 0) {
          chain[0] = i;
          break;
        }
    }
    int64_t x = 0, y = 0;
    double current_min = 0;
    while (true) {  // follow nearest neighbours until two are mutual
      x = chain[size_t(chain_length - 1)];
      if (chain_length > 1) {  // prefer the previous element of the chain (no cycles)
        y = chain[size_t(chain_length - 2)];
        current_min = D[size_t(condensed_index(n, x, y))];
      } else {
        current_min = std::numeric_limits<double>::infinity();
      }
      for (int64_t i = 0; i < n; ++i) {
        if (size[size_t(i)] == 0 || i == x) continue;
        const double dist = D[size_t(condensed_index(n, x, i))];
        if (dist < current_min) {
          current_min = dist;
          y = i;
        }
      }
      if (chain_length > 1 && y == chain[size_t(chain_length - 2)]) break;
      chain[size_t(chain_length++)] = y;
    }
    chain_length -= 2;
    if (x > y) std::swap(x, y);
    const int64_t nx = size[size_t(x)], ny = size[size_t(y)];
    Z[size_t(4 * k)] = double(x);
    Z[size_t(4 * k + 1)] = double(y);
    Z[size_t(4 * k + 2)] = current_min;
    Z[size_t(4 * k + 3)] = double(nx + ny);
    size[size_t(x)] = 0;
    size[size_t(y)] = nx + ny;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t ni = size[size_t(i)];
      if (ni == 0 || i == y) continue;
      double& d_iy = D[size_t(condensed_index(n, i, y))];
      d_iy = new_dist(method, D[size_t(condensed_index(n, i, x))], d_iy, current_min, double(nx), double(ny),
                      double(ni));
    }
  }
  std::vector<int64_t> order(static_cast<size_t>(n - 1));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return Z[size_t(4 * a + 2)] < Z[size_t(4 * b + 2)]; });
  out.linkage.resize(Z.size());
  for (int64_t r = 0; r < n - 1; ++r)
    std::copy(&Z[size_t(4 * order[size_t(r)])], &Z[size_t(4 * order[size_t(r)] + 4)], &out.linkage[size_t(4 * r)]);
  UnionFind uf(n);  // scipy's label(): slot numbers -> cluster ids
  for (int64_t r = 0; r < n - 1; ++r) {
    const int64_t xr = uf.find(int64_t(out.linkage[size_t(4 * r)])), yr = uf.find(int64_t(out.linkage[size_t(4 * r + 1)]));
    out.linkage[size_t(4 * r)] = double(std::min(xr, yr));
    out.linkage[size_t(4 * r + 1)] = double(std::max(xr, yr));
    out.linkage[size_t(4 * r + 3)] = double(uf.merge(xr, yr));
  }
  out.leaves = prelist(out);
  return out;
}

Dendrogram linkage_square(const double* square, int64_t n, Linkage method) {
  CUVI_CHECK(n >= 1, "linkage: no observations");
  std::vector<double> condensed;
  condensed.reserve(size_t(n * (n - 1) / 2));
  for (int64_t i = 0; i < n; ++i) {
    CUVI_CHECK(square[i * n + i] == 0, "linkage: the distance matrix has a non-zero diagonal at row " + std::to_string(i));
    for (int64_t j = i + 1; j < n; ++j) {
      const double a = square[i * n + j], b = square[j * n + i];
      const double scale = std::max({std::fabs(a), std::fabs(b), 1e-300});
      CUVI_CHECK(std::fabs(a - b) <= 1e-12 * scale,
                 "linkage: the distance matrix is not symmetric at (" + std::to_string(i) + ", " + std::to_string(j) + ")");
      condensed.push_back(a);
    }
  }
  return linkage_condensed(condensed, n, method);
}

std::vector<int32_t> cut_maxclust(const Dendrogram& d, int64_t k) {
  const int64_t n = d.n;
  CUVI_CHECK(k >= 1, "maxclust: the number of clusters must be at least 1");
  std::vector<int32_t> T(size_t(n), 1);
  if (n == 1) return T;
  if (k >= n) {  // every observation its own cluster, numbered by index (as scipy)
    for (int64_t i = 0; i < n; ++i) T[size_t(i)] = int32_t(i + 1);
    return T;
  }
  // MC: the largest merge distance inside each cluster (scipy's get_max_dist_for_each_cluster).
  std::vector<double> mc(static_cast<size_t>(n - 1));
  for (int64_t i = 0; i < n - 1; ++i) {
    double m = d.height(i);
    for (int64_t c : {d.left(i), d.right(i)})
      if (c >= n) m = std::max(m, mc[size_t(c - n)]);
    mc[size_t(i)] = m;
  }
  // The smallest MC value that leaves at most k clusters (a merge with MC <= t has every merge below it
  // <= t, so the cut-off t leaves n - #{MC <= t} clusters).
  std::vector<double> sorted_mc = mc;
  std::sort(sorted_mc.begin(), sorted_mc.end());
  const double cutoff = sorted_mc[size_t(n - k - 1)];  // at least n - k merges at or below the cut-off
  // scipy's cluster_monocrit: depth-first from the root, numbering clusters as they are closed.
  std::vector<char> visited(size_t(2 * n - 1), 0);
  std::vector<int64_t> node{2 * n - 2};
  int32_t n_cluster = 0;
  int64_t leader = -1;
  while (!node.empty()) {
    const int64_t root = node.back() - n, lc = d.left(root), rc = d.right(root);
    if (leader == -1 && mc[size_t(root)] <= cutoff) {
      leader = root;
      ++n_cluster;
    }
    if (lc >= n && !visited[size_t(lc)]) {
      visited[size_t(lc)] = 1;
      node.push_back(lc);
      continue;
    }
    if (rc >= n && !visited[size_t(rc)]) {
      visited[size_t(rc)] = 1;
      node.push_back(rc);
      continue;
    }
    for (int64_t c : {lc, rc})
      if (c < n) {
        if (leader == -1) ++n_cluster;
        T[size_t(c)] = n_cluster;
      }
    if (leader == root) leader = -1;
    node.pop_back();
  }
  return T;
}

std::string newick(const Dendrogram& d, const std::vector<std::string>& names) {
  const int64_t n = d.n;
  CUVI_CHECK(names.empty() || int64_t(names.size()) == n,
             "newick: " + std::to_string(names.size()) + " names for " + std::to_string(n) + " leaves");
  auto name_of = [&](int64_t leaf) {
    std::string s = names.empty() ? std::to_string(leaf) : names[size_t(leaf)];
    if (s.find_first_of("()[]':;, \t\n") == std::string::npos && !s.empty()) return s;
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
    return q + "'";
  };
  auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return std::string(buf);
  };
  auto height_of = [&](int64_t id) { return id < n ? 0.0 : d.height(id - n); };
  if (n == 1) return name_of(0) + ";";
  // Iterative post-order: each internal node's text from its children's.
  std::vector<std::string> text(static_cast<size_t>(2 * n - 1));
  for (int64_t i = 0; i < n; ++i) text[size_t(i)] = name_of(i);
  for (int64_t i = 0; i < n - 1; ++i) {
    const int64_t a = d.left(i), b = d.right(i);
    text[size_t(n + i)] = "(" + text[size_t(a)] + ":" + number(d.height(i) - height_of(a)) + "," + text[size_t(b)] +
                          ":" + number(d.height(i) - height_of(b)) + ")";
    text[size_t(a)].clear();
    text[size_t(b)].clear();
  }
  return text[size_t(2 * n - 2)] + ";";
}

}  // namespace cuvi::workflow
