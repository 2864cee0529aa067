// Sample trees from grouped MRVI distances: each group's S x S float matrix, read as double, symmetrised
// and checked, goes through hclust's linkage_square; the results are written as netCDF variables.
#include "tools/workflow/mrvi_sample_clusters.h"

#include <cmath>

#include "engine/error.h"

namespace cuvi::workflow {

const char* linkage_name(Linkage method) {
  switch (method) {
    case Linkage::Average: return "average";
    case Linkage::Complete: return "complete";
    case Linkage::Ward: return "ward";
  }
  return "average";
}

std::vector<SampleTrees> cluster_samples(const std::vector<GroupDistances>& groups,
                                         const std::vector<std::string>& sample_names, Linkage method) {
  const int64_t S = int64_t(sample_names.size()), S2 = S * S;
  CUVI_CHECK(S >= 2, "clustering samples needs at least 2 samples, the model has " + std::to_string(S));
  std::vector<SampleTrees> out;
  std::vector<double> square(static_cast<size_t>(S2));
  for (const GroupDistances& g : groups) {
    const int64_t G = int64_t(g.names.size());
    CUVI_CHECK(int64_t(g.values.size()) == G * S2,
               "clustering samples by '" + g.key + "' needs one " + std::to_string(S) + " x " + std::to_string(S) +
                   " matrix per group (distances with Monte Carlo draws keep one per draw)");
    SampleTrees t;
    t.key = g.key;
    t.group_names = g.names;
    for (int64_t k = 0; k < G; ++k) {
      const float* d = g.values.data() + k * S2;  // (S, S)
      for (int64_t i = 0; i < S; ++i) {
        for (int64_t j = 0; j < S; ++j) {
          const double a = double(d[i * S + j]), b = double(d[j * S + i]);
          CUVI_CHECK(std::isfinite(a), "'" + g.key + "' group '" + g.names[size_t(k)] + "': the distance between " +
                                           sample_names[size_t(i)] + " and " + sample_names[size_t(j)] +
                                           " is not finite");
          CUVI_CHECK(i == j || a >= 0, "'" + g.key + "' group '" + g.names[size_t(k)] + "': the distance between " +
                                           sample_names[size_t(i)] + " and " + sample_names[size_t(j)] +
                                           " is negative; hierarchical clustering needs distances");
          square[size_t(i * S + j)] = i == j ? 0.0 : 0.5 * (a + b);  // exact when d is symmetric
        }
      }
      t.trees.push_back(linkage_square(square.data(), S, method));
      t.newick.push_back(newick(t.trees.back(), sample_names));
    }
    out.push_back(std::move(t));
  }
  return out;
}

void write_sample_clusters(const std::vector<SampleTrees>& trees, Linkage method, io::NetcdfWriter& out) {
  for (const SampleTrees& t : trees) {
    CUVI_CHECK(!t.trees.empty(), "no groups to write for '" + t.key + "'");
    const int64_t S = t.trees[0].n;
    if (!out.has_dimension("merge")) out.dimension("merge", S - 1);
    if (!out.has_dimension("sample_order")) out.dimension("sample_order", S);
    if (!out.has_dimension("linkage_col"))
      out.coordinate("linkage_col", std::vector<std::string>{"cluster_a", "cluster_b", "distance", "n_samples"});
    CUVI_CHECK(out.dimension_size("sample_order") == S, "sample trees of different sizes in one file");
    const std::string dim = t.key + "_name";
    const std::string link = t.key + "_linkage", order = t.key + "_order", tree = t.key + "_newick";
    out.variable(link, {dim, "merge", "linkage_col"}, io::NcType::F64);
    out.variable(order, {dim, "sample_order"}, io::NcType::I64);
    out.variable(tree, {dim}, io::NcType::String);
    std::vector<double> Z;  // (groups, S - 1, 4)
    std::vector<int64_t> leaves;  // (groups, S)
    for (const Dendrogram& d : t.trees) {
      CUVI_CHECK(d.n == S, "sample trees of different sizes in one file");
      Z.insert(Z.end(), d.linkage.begin(), d.linkage.end());
      leaves.insert(leaves.end(), d.leaves.begin(), d.leaves.end());
    }
    out.write(link, Z.data());
    out.write(order, leaves.data());
    out.write(tree, t.newick);
    out.attribute(link, "linkage_method", linkage_name(method));
    out.attribute(link, "description",
                  "scipy.cluster.hierarchy.linkage(squareform(" + t.key + "), method) per " + dim);
    out.attribute(order, "description", "leaves_list of " + link + ": sample_x indices, left to right");
    out.attribute(tree, "description", "Newick tree of " + link + ", sample names as leaf labels");
  }
}

}  // namespace cuvi::workflow
