// Grouping of cells for differential analyses: obs column to categories and members, comparison plan.
#include "tools/workflow/de_groups.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace cuvi::workflow {
namespace {

std::string list_categories(const std::vector<std::string>& cats) {
  std::string s;
  for (size_t i = 0; i < cats.size() && i < 30; ++i) s += (i ? ", " : "") + cats[i];
  if (cats.size() > 30) s += ", ... (" + std::to_string(cats.size()) + " in all)";
  return s;
}

}  // namespace

Grouping read_grouping(const io::DataFrame& obs, const std::string& key, const std::string& path) {
  const io::Column& c = obs.require(key, path, "obs");
  Grouping g;
  g.key = key;
  const int64_t n = c.size();
  g.codes.assign(size_t(n), -1);
  if (c.kind == io::ColumnKind::Categorical) {
    g.categories = c.cat.categories;
    g.codes = c.cat.codes;
  } else if (c.kind == io::ColumnKind::String) {
    std::vector<std::string> v;
    for (const auto& s : c.strings)
      if (!s.empty()) v.push_back(s);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    g.categories = v;
    for (int64_t i = 0; i < n; ++i)
      if (!c.strings[size_t(i)].empty())
        g.codes[size_t(i)] = int32_t(std::lower_bound(v.begin(), v.end(), c.strings[size_t(i)]) - v.begin());
  } else {
    std::vector<double> v;
    for (double x : c.numeric)
      if (!std::isnan(x)) v.push_back(x);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    for (double x : v)
      g.categories.push_back(c.kind == io::ColumnKind::Boolean ? (x != 0 ? "True" : "False")
                                                                : io::Column::numbers("", {x}, c.is_integer).text(0));
    for (int64_t i = 0; i < n; ++i)
      if (!std::isnan(c.numeric[size_t(i)]))
        g.codes[size_t(i)] = int32_t(std::lower_bound(v.begin(), v.end(), c.numeric[size_t(i)]) - v.begin());
  }
  g.members.resize(g.categories.size());
  for (int64_t i = 0; i < n; ++i)
    if (g.codes[size_t(i)] >= 0) g.members[size_t(g.codes[size_t(i)])].push_back(int32_t(i));
  return g;
}

std::vector<Comparison> plan_comparisons(const Grouping& grp, const std::vector<std::string>& group1,
                                         const std::string& group2, std::vector<std::string>* notes) {
  auto code_of = [&](const std::string& name, const char* option) {
    for (size_t k = 0; k < grp.categories.size(); ++k)
      if (grp.categories[k] == name) {
        CUVI_CHECK(!grp.members[k].empty(),
                   std::string(option) + " '" + name + "' has no cells in obs['" + grp.key + "']");
        return int32_t(k);
      }
    fail(std::string(option) + " '" + name + "' is not a category of obs['" + grp.key +
         "'] (categories: " + list_categories(grp.categories) + ")");
  };
  int32_t g2 = -1;
  if (!group2.empty()) g2 = code_of(group2, "--group2");
  std::vector<int32_t> g1s;
  if (group1.empty()) {
    int n_present = 0;
    for (const auto& m : grp.members) n_present += !m.empty();
    CUVI_CHECK(n_present >= 2, "obs['" + grp.key + "'] has a single group (" + list_categories(grp.categories) +
                                   "); DE needs at least two");
    for (size_t k = 0; k < grp.categories.size(); ++k) {
      if (grp.members[k].empty()) {
        if (notes) notes->push_back("category '" + grp.categories[k] + "' has no cells and is skipped");
        continue;
      }
      if (int32_t(k) != g2) g1s.push_back(int32_t(k));
    }
  } else {
    for (const auto& name : group1) {
      const int32_t c = code_of(name, "--group1");
      CUVI_CHECK(c != g2, "--group1 and --group2 are both '" + name + "'; DE needs two different groups");
      g1s.push_back(c);
    }
  }
  std::vector<Comparison> out;
  for (int32_t a : g1s)
    out.push_back({a, g2, grp.categories[size_t(a)], g2 >= 0 ? grp.categories[size_t(g2)] : "Rest"});
  return out;
}

std::vector<int32_t> rest_of(const Grouping& g, int32_t group1) {
  std::vector<int32_t> rest;
  for (size_t i = 0; i < g.codes.size(); ++i)
    if (g.codes[i] != group1) rest.push_back(int32_t(i));
  return rest;
}

}  // namespace cuvi::workflow
