// Group codes and row groupings shared by the scib metrics.
#include "tools/workflow/label_codes.h"

#include <algorithm>

#include "engine/error.h"

namespace cuvi::workflow {

std::vector<int32_t> compact_codes(const std::vector<int32_t>& codes, int32_t* n_groups, const std::string& what) {
  int32_t top = -1;
  for (size_t i = 0; i < codes.size(); ++i) {
    CUVI_CHECK(codes[i] >= 0, what + ": row " + std::to_string(i) + " has a missing value");
    top = std::max(top, codes[i]);
  }
  std::vector<int32_t> remap(size_t(top + 1), -1);
  for (int32_t c : codes) remap[size_t(c)] = 0;
  int32_t next = 0;
  for (int32_t& r : remap)
    if (r == 0) r = next++;
  std::vector<int32_t> out(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) out[i] = remap[size_t(codes[i])];
  *n_groups = next;
  return out;
}

RowGroups group_rows(const std::vector<int32_t>& codes, int32_t n_groups) {
  RowGroups g;
  g.seg.assign(size_t(n_groups + 1), 0);
  for (int32_t c : codes) ++g.seg[size_t(c + 1)];
  for (int32_t c = 0; c < n_groups; ++c) g.seg[size_t(c + 1)] += g.seg[size_t(c)];
  std::vector<int64_t> next(g.seg.begin(), g.seg.end() - 1);
  g.order.resize(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) g.order[size_t(next[size_t(codes[i])]++)] = int64_t(i);
  return g;
}

std::vector<float> take_rows(const float* x, int64_t d, const std::vector<int64_t>& order) {
  std::vector<float> out(order.size() * size_t(d));
  for (size_t r = 0; r < order.size(); ++r) std::copy(x + order[r] * d, x + order[r] * d + d, &out[r * size_t(d)]);
  return out;
}

}  // namespace cuvi::workflow
