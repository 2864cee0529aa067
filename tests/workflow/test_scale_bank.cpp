// The shared DE layer's draws (tools/workflow/scale_bank.h, scvi-multivi.md §3.2, §2.7): scvi's posterior
// pairs (k samples per cell, n picks), MULTIVI's cells with replacement evaluated once per cell (scales at
// the posterior mean) or once per pick (sampled z), per transform batch, deterministic for a seed.
#include <gtest/gtest.h>

#include <set>

#include "tools/workflow/scale_bank.h"

namespace cuvi::test {
namespace {

TEST(ScaleBank, DrawSchemesGiveScvisSampleCounts) {
  const std::vector<int32_t> cells = {3, 8, 11};
  {
    workflow::ScaleBank bank(4);
    const auto s = bank.draw(workflow::DrawScheme::PosteriorPairs, cells, {-1}, 100, 0, 0);
    EXPECT_EQ(s.size(), 100u);
    // k = 100 // 3 + 1 = 34 samples per cell: at most 102 distinct (cell, sample) pairs.
    EXPECT_LE(bank.n_slots(), 102);
    EXPECT_GT(bank.n_slots(), 50) << "picks over 102 pairs rarely repeat much";
  }
  {
    workflow::ScaleBank bank(4);
    const auto s = bank.draw(workflow::DrawScheme::CellsDeterministic, cells, {-1}, 100, 0, 0);
    EXPECT_EQ(s.size(), 100u);
    EXPECT_EQ(bank.n_slots(), 3) << "one forward pass per distinct cell";
  }
  {
    workflow::ScaleBank bank(4);
    const auto s = bank.draw(workflow::DrawScheme::CellsSampled, cells, {-1}, 100, 0, 0);
    EXPECT_EQ(bank.n_slots(), 100) << "a fresh z per pick";
    // A second group drawing the same cells gets its own samples.
    bank.draw(workflow::DrawScheme::CellsSampled, cells, {-1}, 100, 0, 1);
    EXPECT_EQ(bank.n_slots(), 200);
  }
  {
    // Batch correction: n = int(5000 / 2) per transform batch, slots tagged with their batch.
    workflow::ScaleBank bank(4);
    const auto s = bank.draw(workflow::DrawScheme::CellsDeterministic, cells, {0, 1}, 5000, 0, 0);
    ASSERT_EQ(s.size(), 5000u);
    EXPECT_EQ(bank.transform_batch(s.front()), 0);
    EXPECT_EQ(bank.transform_batch(s.back()), 1);
    EXPECT_EQ(bank.n_slots(), 6);
  }
  {
    // Too few samples for the batches: scvi falls back to 2 per batch.
    workflow::ScaleBank bank(4);
    EXPECT_EQ(bank.draw(workflow::DrawScheme::CellsSampled, cells, {0, 1, 2}, 2, 0, 0).size(), 6u);
  }
}

TEST(ScaleBank, SameSeedSamePicks) {
  const std::vector<int32_t> cells = {0, 1, 2, 3, 4, 5, 6};
  workflow::ScaleBank a(1), b(1), c(1);
  const auto sa = a.draw(workflow::DrawScheme::CellsDeterministic, cells, {-1}, 50, 7, 0);
  const auto sb = b.draw(workflow::DrawScheme::CellsDeterministic, cells, {-1}, 50, 7, 0);
  const auto sc = c.draw(workflow::DrawScheme::CellsDeterministic, cells, {-1}, 50, 8, 0);
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

}  // namespace
}  // namespace cuvi::test
