// Small deterministic count matrices for trainer tests on both backends: every cell holds counts
// (gene 0 always), about 40% of entries non-zero, values 1..9; cells alternate between batches.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/loader.h"
#include "models/scvi/scvi_config.h"

namespace cuvi::test {

struct SyntheticCounts {
  int64_t R, G;
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> data;
  SyntheticCounts(int64_t cells, int64_t genes) : R(cells), G(genes) {
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t g = 0; g < G; ++g)
        if (g == 0 || (r * 31 + g * 17) % 5 < 2) {
          indices.push_back(int32_t(g));
          data.push_back(float((r * 13 + g * 7) % 9 + 1));
        }
      indptr.push_back(int64_t(indices.size()));
    }
  }
  CsrView view() const { return CsrView{indptr.data(), indices.data(), data.data(), R, G}; }
};

// Covariate table of R cells for a model's layout: cell r in batch r % n_batch, label 0.
inline CellTable synthetic_cells(const models::CovariateLayout& l, int64_t R, int64_t n_batch) {
  CellTable cells;
  cells.n_codes = l.n_codes;
  for (int64_t r = 0; r < R; ++r) {
    cells.batch.push_back(int32_t(r % n_batch));
    cells.labels.push_back(0);
    cells.codes.resize(cells.codes.size() + l.n_codes);
    l.encode(cells.batch.back(), nullptr, cells.codes.data() + r * l.n_codes);
  }
  return cells;
}

}  // namespace cuvi::test
