// Hierarchical clustering of samples from MRVI's grouped local sample distances (spec/mrvi.md §5
// get_local_sample_distances with groupby): scipy's linkage, leaves order and a Newick tree per group.
#pragma once
#include <string>
#include <vector>

#include "io/netcdf_writer.h"
#include "tools/workflow/hclust.h"
#include "tools/workflow/mrvi_distances.h"

namespace cuvi::workflow {

// The sample trees of one groupby key, one per category ({key}_name order).
struct SampleTrees {
  std::string key;
  std::vector<std::string> group_names;  // {key}_name
  std::vector<Dendrogram> trees;         // scipy's linkage(squareform(matrix), method) per group
  std::vector<std::string> newick;       // sample names as leaf labels
};

// Clusters every group's (S, S) matrix of `groups` as distances: symmetrised ((d + d^T) / 2), diagonal
// ignored, every entry checked finite and the off-diagonal non-negative (the error names key and group).
// Needs one matrix per group (no mc_sample axis) and S >= 2. sample_names: the sample_x coordinate.
std::vector<SampleTrees> cluster_samples(const std::vector<GroupDistances>& groups,
                                         const std::vector<std::string>& sample_names, Linkage method);

// Writes, per key, into the distances file (after its {key}_name coordinate exists):
//   {key}_linkage ({key}_name, merge, linkage_col)  float64, scipy's Z (linkage_col: cluster_a, cluster_b,
//                                                   distance, n_samples), attribute linkage_method
//   {key}_order   ({key}_name, sample_order)        int64, leaves left to right as sample_x indices
//   {key}_newick  ({key}_name)                      string, the tree with sample names as leaf labels
// The shared dimensions merge (S - 1) and sample_order (S) and the linkage_col coordinate are defined once.
void write_sample_clusters(const std::vector<SampleTrees>& trees, Linkage method, io::NetcdfWriter& out);

// "average" | "complete" | "ward" for the linkage_method attribute.
const char* linkage_name(Linkage method);

}  // namespace cuvi::workflow
