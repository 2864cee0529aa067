// Groups of a differential analysis (scvi-multivi.md §3.1), shared by every model: categories of an obs
// column in pandas' order, the cells of each, and the comparisons (each group1 against group2 or the rest).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/dataframe.h"

namespace cuvi::workflow {

// Category labels of an obs column in pandas' astype("category") order, and per-cell codes (-1 =
// missing: such cells belong to no group but are part of every "rest").
struct Grouping {
  std::string key;
  std::vector<std::string> categories;
  std::vector<int32_t> codes;                 // (R)
  std::vector<std::vector<int32_t>> members;  // cells of each category, ascending
};
Grouping read_grouping(const io::DataFrame& obs, const std::string& key, const std::string& path);

struct Comparison {
  int32_t group1 = -1;
  int32_t group2 = -1;  // -1: the rest of the cells
  std::string name1, name2;  // category labels; name2 "Rest" against the rest
};

// group1 empty: every category with cells except group2 (categories without cells are skipped, with a
// note); group2 empty: the rest. Errors name the option, the column and its categories.
std::vector<Comparison> plan_comparisons(const Grouping& g, const std::vector<std::string>& group1,
                                         const std::string& group2, std::vector<std::string>* notes);
// The cells outside group1 (the "rest" of a one-vs-rest comparison), ascending.
std::vector<int32_t> rest_of(const Grouping& g, int32_t group1);

}  // namespace cuvi::workflow
