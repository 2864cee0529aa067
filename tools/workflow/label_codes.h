// Label and batch vectors as the scib metrics see them: integer codes 0..L-1 over the groups present,
// rows grouped by code for the segment sums of engine/pairwise.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cuvi::workflow {

// Codes renumbered 0..L-1 over the values present, keeping their order (negative codes are refused).
std::vector<int32_t> compact_codes(const std::vector<int32_t>& codes, int32_t* n_groups, const std::string& what);

// Rows ordered by code (stable) and the segment bounds: rows order[seg[g] .. seg[g + 1]) have code g.
struct RowGroups {
  std::vector<int64_t> order;  // (n) original row of each grouped position
  std::vector<int64_t> seg;    // (L + 1)
};
RowGroups group_rows(const std::vector<int32_t>& codes, int32_t n_groups);

// x's rows taken in `order`: (order.size(), d).
std::vector<float> take_rows(const float* x, int64_t d, const std::vector<int64_t>& order);

}  // namespace cuvi::workflow
