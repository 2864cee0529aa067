// Sample clustering of MRVI's grouped local sample distances (tools/workflow/mrvi_sample_clusters) on the
// analysis fixture's model (6 donors): what the file holds is hclust's linkage of the matrix it holds, the
// order is a permutation, the Newick tree names every sample once; bad matrices are refused by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/error.h"
#include "tests/models/mrvi_analysis_fixture.h"
#include "tests/models/scvi_test_util.h"
#include "tools/workflow/hclust.h"
#include "tools/workflow/mrvi_distances.h"
#include "tools/workflow/mrvi_sample_clusters.h"

namespace cuvi::test {
namespace {

template <class T>
std::vector<T> read_whole(const io::Node& ds, hid_t mem_type) {
  int64_t n = 1;
  for (int64_t d : ds.dims()) n *= d;
  std::vector<T> v(static_cast<size_t>(n));
  EXPECT_GE(H5Dread(ds.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
  return v;
}

std::vector<std::string> read_strings(const io::Node& ds) {
  std::vector<char*> ptrs(size_t(ds.length()));
  io::H5Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  EXPECT_GE(H5Dread(ds.id(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), 0);
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    free(p);
  }
  return out;
}

// Leaf labels of a Newick tree, left to right (labels follow '(' or ','; quoted labels unquoted).
std::vector<std::string> newick_leaves(const std::string& t) {
  std::vector<std::string> out;
  for (size_t i = 0; i < t.size(); ++i) {
    if ((t[i] != '(' && t[i] != ',') || i + 1 >= t.size() || t[i + 1] == '(') continue;
    std::string label;
    size_t j = i + 1;
    if (t[j] == '\'') {
      for (++j; j < t.size(); ++j) {
        if (t[j] == '\'' && j + 1 < t.size() && t[j + 1] == '\'') {
          label += '\'';
          ++j;
        } else if (t[j] == '\'') {
          break;
        } else {
          label += t[j];
        }
      }
    } else {
      while (j < t.size() && t[j] != ':' && t[j] != ',' && t[j] != ')') label += t[j++];
    }
    out.push_back(label);
  }
  return out;
}

TEST(MrviSampleClusters, WrittenTreesAreHclustOfTheWrittenMatrices) {
  AnalysisFixture f;
  const std::vector<std::string>& samples = f.inf.data.registry.sample_categories;
  const int64_t S = int64_t(samples.size());
  ASSERT_EQ(S, 6);
  workflow::DistanceOptions opt;
  opt.keep_cell = false;
  opt.groupby = {"cell_type", "meta1"};
  for (const workflow::Linkage method :
       {workflow::Linkage::Average, workflow::Linkage::Complete, workflow::Linkage::Ward}) {
    const std::string name = workflow::linkage_name(method);
    const std::string path = temp_path("sample_trees_" + name + ".nc");
    {
      io::NetcdfWriter w(path);
      const auto groups = workflow::local_sample_distances(*f.inf.session, f.inf.data, opt, w);
      workflow::write_sample_clusters(workflow::cluster_samples(groups, samples, method), method, w);
      w.commit();
    }
    const io::Node nc = io::Node::root(io::H5File::open_read(path));
    EXPECT_EQ(nc.open("merge").length(), S - 1);
    EXPECT_EQ(nc.open("sample_order").length(), S);
    EXPECT_EQ(read_strings(nc.open("linkage_col")),
              (std::vector<std::string>{"cluster_a", "cluster_b", "distance", "n_samples"}));
    for (const std::string& key : opt.groupby) {
      const std::vector<float> dist = read_whole<float>(nc.open(key), H5T_NATIVE_FLOAT);  // (G, S, S)
      const io::Node link_ds = nc.open(key + "_linkage");
      EXPECT_EQ(link_ds.attr_string("linkage_method").value_or(""), name);
      const std::vector<double> Z = read_whole<double>(link_ds, H5T_NATIVE_DOUBLE);  // (G, S - 1, 4)
      const std::vector<int64_t> order = read_whole<int64_t>(nc.open(key + "_order"), H5T_NATIVE_INT64);
      const std::vector<std::string> trees = read_strings(nc.open(key + "_newick"));
      const int64_t G = nc.open(key + "_name").length();
      ASSERT_GE(G, 2) << key;
      EXPECT_EQ(link_ds.dims(), (std::vector<int64_t>{G, S - 1, 4})) << key;
      ASSERT_EQ(int64_t(dist.size()), G * S * S) << key;
      ASSERT_EQ(int64_t(order.size()), G * S) << key;
      ASSERT_EQ(int64_t(trees.size()), G) << key;
      for (int64_t g = 0; g < G; ++g) {
        const std::string at = key + " group " + std::to_string(g) + " " + name;
        const std::vector<double> sq(dist.begin() + g * S * S, dist.begin() + (g + 1) * S * S);
        const workflow::Dendrogram d = workflow::linkage_square(sq.data(), S, method);
        // The same function on the same doubles: identical, not merely close.
        EXPECT_EQ(std::vector<double>(Z.begin() + g * (S - 1) * 4, Z.begin() + (g + 1) * (S - 1) * 4), d.linkage)
            << at;
        EXPECT_EQ(Z[size_t((g * (S - 1) + S - 2) * 4 + 3)], double(S)) << at << ": the last merge holds every sample";
        const std::vector<int64_t> o(order.begin() + g * S, order.begin() + (g + 1) * S);
        EXPECT_EQ(o, d.leaves) << at;
        std::vector<int64_t> sorted = o;
        std::sort(sorted.begin(), sorted.end());
        for (int64_t i = 0; i < S; ++i) EXPECT_EQ(sorted[size_t(i)], i) << at << ": the order is a permutation";
        const std::vector<std::string> leaves = newick_leaves(trees[size_t(g)]);
        ASSERT_EQ(int64_t(leaves.size()), S) << at << ": " << trees[size_t(g)];
        std::map<std::string, int> seen;
        for (const std::string& l : leaves) ++seen[l];
        for (const std::string& s : samples) EXPECT_EQ(seen[s], 1) << at << ": " << s << " in " << trees[size_t(g)];
        for (int64_t i = 0; i < S; ++i) EXPECT_EQ(leaves[size_t(i)], samples[size_t(o[size_t(i)])]) << at;
        EXPECT_EQ(trees[size_t(g)].back(), ';');
      }
    }
    std::remove(path.c_str());
  }
}

TEST(MrviSampleClusters, RefusesMatricesThatAreNotDistances) {
  const std::vector<std::string> samples = {"a", "b", "c"};
  workflow::GroupDistances g{"cell_type", {"T", "B"}, std::vector<float>(18, 1.f)};
  for (int k = 0; k < 2; ++k)
    for (int i = 0; i < 3; ++i) g.values[size_t(k * 9 + i * 4)] = 0.f;
  const auto ok = workflow::cluster_samples({g}, samples, workflow::Linkage::Average);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].trees.size(), 2u);
  auto message = [&](const workflow::GroupDistances& bad, const std::vector<std::string>& names) {
    try {
      workflow::cluster_samples({bad}, names, workflow::Linkage::Ward);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  workflow::GroupDistances neg = g;
  neg.values[9 + 1] = -0.5f;  // group B, (a, b)
  EXPECT_NE(message(neg, samples).find("'cell_type' group 'B': the distance between a and b is negative"),
            std::string::npos)
      << message(neg, samples);
  workflow::GroupDistances nan = g;
  nan.values[5] = NAN;  // group T, (b, c)
  EXPECT_NE(message(nan, samples).find("group 'T': the distance between b and c is not finite"), std::string::npos)
      << message(nan, samples);
  workflow::GroupDistances draws = g;
  draws.values.resize(36, 0.f);  // (groups, mc = 2, S, S)
  EXPECT_NE(message(draws, samples).find("one 3 x 3 matrix per group"), std::string::npos) << message(draws, samples);
  workflow::GroupDistances one{"cell_type", {"T"}, {0.f}};
  EXPECT_NE(message(one, {"a"}).find("at least 2 samples"), std::string::npos) << message(one, {"a"});
  // An asymmetric matrix is symmetrised: (1 + 3) / 2 = 2 between a and b.
  workflow::GroupDistances asym = g;
  asym.values[1] = 3.f;
  const auto sym = workflow::cluster_samples({asym}, samples, workflow::Linkage::Complete);
  EXPECT_EQ(sym[0].trees[0].linkage[size_t(4 * 1 + 2)], 2.0) << "complete linkage: the last merge at max(2, 1)";
}

}  // namespace
}  // namespace cuvi::test
