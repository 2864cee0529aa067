// Agglomerative hierarchical clustering of a small distance matrix (average, complete, Ward), with the
// results of scipy.cluster.hierarchy: linkage matrix, leaves order, flat clusters; plus a Newick tree.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cuvi::workflow {

enum class Linkage { Average, Complete, Ward };

// "average" | "complete" | "ward"; anything else fails naming the accepted values.
Linkage parse_linkage(const std::string& name);

struct Dendrogram {
  int64_t n = 0;                  // leaves (observations)
  std::vector<double> linkage;    // (n - 1, 4) scipy's Z: [child a, child b, distance, leaves under]
  std::vector<int64_t> leaves;    // (n) scipy's leaves_list(Z) / dendrogram()['leaves']
  // Child ids of merge i: ids < n are leaves, id n + j is the cluster formed by merge j.
  int64_t left(int64_t i) const { return int64_t(linkage[size_t(4 * i)]); }
  int64_t right(int64_t i) const { return int64_t(linkage[size_t(4 * i + 1)]); }
  double height(int64_t i) const { return linkage[size_t(4 * i + 2)]; }
};

// The nearest-neighbour-chain algorithm and Lance-Williams updates of scipy's linkage(method=...), merges
// sorted by distance (stable) and relabelled as scipy does, so Z matches scipy's on the same input.
// condensed: the upper triangle of the n x n distance matrix row by row (scipy's pdist order), n (n-1) / 2
// values. Ward expects Euclidean distances.
Dendrogram linkage_condensed(const std::vector<double>& condensed, int64_t n, Linkage method);
// A square (n, n) row-major matrix: symmetric, zero diagonal, finite, non-negative (checked).
Dendrogram linkage_square(const double* square, int64_t n, Linkage method);

// scipy's fcluster(Z, k, criterion="maxclust"): at most k flat clusters, numbered 1.. in the order scipy's
// depth-first cluster_monocrit closes them; k >= n numbers every observation by its index.
std::vector<int32_t> cut_maxclust(const Dendrogram& d, int64_t k);

// Newick text "((a:0.5,b:0.5):0.25,c:0.75);": children in linkage order (left = Z[i, 0]), branch length =
// parent height - child height (leaves at height 0). names: one per leaf (empty: "0", "1", ...); names with
// Newick's special characters are single-quoted.
std::string newick(const Dendrogram& d, const std::vector<std::string>& names = {});

}  // namespace cuvi::workflow
