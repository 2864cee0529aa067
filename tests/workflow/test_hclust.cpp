// Hierarchical clustering against scipy.cluster.hierarchy (tests/fixtures/scib/hclust.json: linkage,
// leaves_list, dendrogram leaves, fcluster maxclust for every k), the Newick writer against the linkage it
// was written from, and the checks on bad matrices.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "engine/error.h"
#include "tests/json_lite.h"
#include "tests/test_env.h"
#include "tools/workflow/hclust.h"

namespace cuvi::test {
namespace {

const std::string& hclust_json() {
  static const std::string t = read_text(source_dir() + "/tests/fixtures/scib/hclust.json");
  return t;
}

std::vector<std::string> case_names() {
  std::vector<std::string> out;
  for (const char* data : {"uniform7", "points25", "ties10", "samples12"})
    for (const char* method : {"average", "complete", "ward"}) out.push_back(std::string(data) + "_" + method);
  return out;
}

TEST(Hclust, MatchesScipyLinkageLeavesAndFcluster) {
  const std::string cases = json_object(hclust_json(), "cases");
  ASSERT_FALSE(cases.empty());
  for (const std::string& name : case_names()) {
    const std::string c = json_object(cases, name);
    ASSERT_FALSE(c.empty()) << name;
    const int64_t n = int64_t(json_number(c, "n"));
    const workflow::Linkage method = workflow::parse_linkage(name.substr(name.find('_') + 1));
    const workflow::Dendrogram d = workflow::linkage_condensed(json_numbers(c, "condensed"), n, method);
    const std::vector<double> Z = json_numbers(c, "Z");
    ASSERT_EQ(d.linkage.size(), Z.size()) << name;
    for (size_t r = 0; r + 3 < Z.size(); r += 4) {
      EXPECT_EQ(d.linkage[r], Z[r]) << name << " merge " << r / 4;
      EXPECT_EQ(d.linkage[r + 1], Z[r + 1]) << name << " merge " << r / 4;
      // Same Lance-Williams expressions in double: a few roundings apart at most.
      EXPECT_NEAR(d.linkage[r + 2], Z[r + 2], 8 * 2.2e-16 * Z[r + 2]) << name << " merge " << r / 4;
      EXPECT_EQ(d.linkage[r + 3], Z[r + 3]) << name << " merge " << r / 4;
    }
    const std::vector<double> leaves = json_numbers(c, "leaves"), dleaves = json_numbers(c, "dendrogram_leaves");
    EXPECT_EQ(std::vector<double>(d.leaves.begin(), d.leaves.end()), leaves) << name;
    EXPECT_EQ(leaves, dleaves) << name;
    const std::string fc = json_object(c, "fcluster_maxclust");
    for (int64_t k = 1; k <= n + 1; ++k) {
      const std::vector<int32_t> got = workflow::cut_maxclust(d, k);
      const std::vector<double> want = json_numbers(fc, std::to_string(k));
      EXPECT_EQ(std::vector<double>(got.begin(), got.end()), want) << name << " k = " << k;
    }
  }
}

// A parsed Newick node: leaf name or children with branch lengths.
struct Node {
  std::string name;
  std::vector<std::pair<Node, double>> children;
};

Node parse_newick(const std::string& s, size_t* p) {
  Node node;
  if (s[*p] == '(') {
    ++*p;
    while (true) {
      Node child = parse_newick(s, p);
      EXPECT_EQ(s[*p], ':');
      ++*p;
      size_t used = 0;
      const double len = std::stod(s.substr(*p), &used);
      *p += used;
      node.children.emplace_back(child, len);
      if (s[*p] == ',') {
        ++*p;
        continue;
      }
      EXPECT_EQ(s[*p], ')');
      ++*p;
      break;
    }
  } else if (s[*p] == '\'') {
    ++*p;
    while (!(s[*p] == '\'' && s[*p + 1] != '\'')) {
      if (s[*p] == '\'') ++*p;  // '' inside quotes
      node.name += s[(*p)++];
    }
    ++*p;
  } else {
    while (s[*p] != ':' && s[*p] != ',' && s[*p] != ')' && s[*p] != ';') node.name += s[(*p)++];
  }
  return node;
}

TEST(Hclust, NewickEncodesTheLinkage) {
  const std::string c = json_object(json_object(hclust_json(), "cases"), "samples12_ward");
  const int64_t n = int64_t(json_number(c, "n"));
  const workflow::Dendrogram d = workflow::linkage_condensed(json_numbers(c, "condensed"), n, workflow::Linkage::Ward);
  std::vector<std::string> names;
  for (int64_t i = 0; i < n; ++i) names.push_back(i == 3 ? "donor 3's, (b)" : "s" + std::to_string(i));
  const std::string text = workflow::newick(d, names);
  ASSERT_EQ(text.back(), ';');
  size_t p = 0;
  const Node root = parse_newick(text, &p);
  EXPECT_EQ(p, text.size() - 1);
  // Leaves in order, and every leaf at depth = the root's height (branch lengths sum up the heights).
  std::vector<std::string> order;
  std::function<void(const Node&, double)> walk = [&](const Node& nd, double depth) {
    if (nd.children.empty()) {
      order.push_back(nd.name);
      EXPECT_NEAR(depth, d.height(n - 2), 1e-9 * d.height(n - 2)) << nd.name;
      return;
    }
    for (const auto& [child, len] : nd.children) walk(child, depth + len);
  };
  walk(root, 0);
  ASSERT_EQ(int64_t(order.size()), n);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(order[size_t(i)], names[size_t(d.leaves[size_t(i)])]);
  EXPECT_NE(text.find("'donor 3''s, (b)'"), std::string::npos) << text;
}

TEST(Hclust, SquareInputAndBadMatrices) {
  const double sq[9] = {0, 1, 4, 1, 0, 2, 4, 2, 0};
  const workflow::Dendrogram d = workflow::linkage_square(sq, 3, workflow::Linkage::Average);
  EXPECT_EQ(d.linkage, (std::vector<double>{0, 1, 1, 2, 2, 3, 3, 3}));  // {0,1} at 1, then (4 + 2) / 2 = 3
  EXPECT_EQ(d.leaves, (std::vector<int64_t>{2, 0, 1}));
  EXPECT_EQ(workflow::newick(d), "(2:3,(0:1,1:1):2);");
  const double asym[4] = {0, 1, 2, 0};
  EXPECT_THROW(workflow::linkage_square(asym, 2, workflow::Linkage::Ward), Error);
  const double diag[4] = {1, 1, 1, 0};
  EXPECT_THROW(workflow::linkage_square(diag, 2, workflow::Linkage::Ward), Error);
  EXPECT_THROW(workflow::linkage_condensed({1.0, -2.0, 3.0}, 3, workflow::Linkage::Complete), Error);
  EXPECT_THROW(workflow::linkage_condensed({1.0, 2.0}, 3, workflow::Linkage::Complete), Error);
  EXPECT_THROW(workflow::parse_linkage("single"), Error);
  const workflow::Dendrogram two = workflow::linkage_condensed({0.5}, 2, workflow::Linkage::Ward);
  EXPECT_EQ(workflow::cut_maxclust(two, 1), (std::vector<int32_t>{1, 1}));
  EXPECT_EQ(workflow::cut_maxclust(two, 2), (std::vector<int32_t>{1, 2}));
}

}  // namespace
}  // namespace cuvi::test
