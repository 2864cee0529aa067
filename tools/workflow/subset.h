// Row subsets of a loaded data set (cells in a given order): the counts and the obs table, the features
// unchanged. Used for outputs over chosen cells and for tests on part of a real data set.
#pragma once
#include <cstdint>
#include <vector>

#include "io/dataset.h"

namespace cuvi::workflow {

io::CsrMatrix take_rows(const io::CsrMatrix& m, const std::vector<int32_t>& rows);
io::DataFrame take_rows(const io::DataFrame& df, const std::vector<int32_t>& rows);
// The data set restricted to `rows` (path, format and source kept; notes about all cells dropped).
io::Dataset take_rows(const io::Dataset& d, const std::vector<int32_t>& rows);

}  // namespace cuvi::workflow
