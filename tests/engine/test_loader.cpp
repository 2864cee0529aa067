// Minibatch loader on the CPU backend: minibatches densify the CSR rows exactly, the Philox shuffle is a
// permutation that changes with the epoch and not with the backend, and streaming from host memory
// (memory budget below the matrix size) yields the same minibatches as the resident path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "engine/arena.h"
#include "engine/loader.h"

namespace cuvi {
namespace {

struct Data {
  int64_t R = 263, G = 29;
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> data;
  CellTable cells;
  Data() {
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t g = 0; g < G; ++g)
        if (r % 17 != 3 && (r * 7 + g * 11) % 5 < 2) {
          indices.push_back(int32_t(g));
          data.push_back(float((r + g) % 13 + 1));
        }
      indptr.push_back(int64_t(indices.size()));
      cells.batch.push_back(int32_t(r % 2));
      cells.labels.push_back(int32_t(r % 3));
      cells.codes.push_back(int32_t(r % 2));
      cells.cont.push_back(float(r) * 0.5f);
    }
    cells.n_codes = 1;
    cells.n_cont = 1;
  }
  CsrView view() const { return CsrView{indptr.data(), indices.data(), data.data(), R, G}; }
  float dense(int64_t r, int64_t g) const {
    for (int64_t k = indptr[r]; k < indptr[r + 1]; ++k)
      if (indices[k] == g) return data[k];
    return 0.f;
  }
};

TEST(Loader, MinibatchesDensifyRowsAndCarryCovariates) {
  Data d;
  auto b = make_cpu_backend(1, 1);
  DeviceDataset ds(*b, d.view(), d.cells);
  EXPECT_FALSE(ds.streaming());
  std::vector<int32_t> rows;
  for (int32_t r = 0; r < d.R; r += 2) rows.push_back(r);
  ds.begin_epoch(rows, true, 9, 0, 40);
  EXPECT_EQ(ds.n_batches(), (int64_t(rows.size()) + 39) / 40);
  Arena arena(*b, 1 << 20, "test");
  std::multiset<int32_t> seen;
  for (int64_t k = 0; k < ds.n_batches(); ++k) {
    arena.reset();
    const MiniBatch mb = ds.batch(k, arena);
    EXPECT_EQ(mb.n, ds.batch_rows(k));
    for (int64_t i = 0; i < mb.n; ++i) {
      const int32_t r = mb.rows.ptr<int32_t>()[i];
      seen.insert(r);
      for (int64_t g = 0; g < d.G; ++g) ASSERT_EQ(mb.x.ptr<float>()[i * d.G + g], d.dense(r, g));
      EXPECT_EQ(mb.batch.ptr<int32_t>()[i], r % 2);
      EXPECT_EQ(mb.labels.ptr<int32_t>()[i], r % 3);
      EXPECT_EQ(mb.codes.ptr<int32_t>()[i], r % 2);
      EXPECT_EQ(mb.cont.ptr<float>()[i], float(r) * 0.5f);
    }
  }
  EXPECT_EQ(seen, std::multiset<int32_t>(rows.begin(), rows.end())) << "an epoch visits each row once";
}

TEST(Loader, ShuffleDependsOnSeedAndEpochOnly) {
  Data d;
  auto b1 = make_cpu_backend(1, 1), b2 = make_cpu_backend(1, 2);
  DeviceDataset a(*b1, d.view(), d.cells), c(*b2, d.view(), d.cells);
  std::vector<int32_t> rows(d.R);
  for (int32_t r = 0; r < d.R; ++r) rows[r] = r;
  a.begin_epoch(rows, true, 4, 0, 32);
  c.begin_epoch(rows, true, 4, 0, 32);
  const auto o1 = a.epoch_order();
  EXPECT_EQ(o1, c.epoch_order());
  EXPECT_NE(o1, rows);
  a.begin_epoch(rows, true, 4, 1, 32);
  EXPECT_NE(a.epoch_order(), o1);
  a.begin_epoch(rows, false, 4, 1, 32);
  EXPECT_EQ(a.epoch_order(), rows);
}

TEST(Loader, StreamingGivesTheResidentMinibatches) {
  Data d;
  auto b = make_cpu_backend(1, 1);
  DeviceDataset resident(*b, d.view(), d.cells);
  LoaderOptions lo;
  lo.memory_budget_bytes = 1024;  // far below the matrix: stream in super-batches
  lo.prefetch_batches = 3;
  DeviceDataset streamed(*b, d.view(), d.cells, lo);
  ASSERT_TRUE(streamed.streaming());
  std::vector<int32_t> rows(d.R);
  for (int32_t r = 0; r < d.R; ++r) rows[r] = r;
  Arena a1(*b, 1 << 20, "a"), a2(*b, 1 << 20, "b");
  for (uint32_t epoch = 0; epoch < 2; ++epoch) {
    resident.begin_epoch(rows, true, 7, epoch, 25);
    streamed.begin_epoch(rows, true, 7, epoch, 25);
    ASSERT_EQ(resident.n_batches(), streamed.n_batches());
    for (int64_t k = 0; k < resident.n_batches(); ++k) {
      a1.reset();
      a2.reset();
      const MiniBatch x = resident.batch(k, a1), y = streamed.batch(k, a2);
      ASSERT_EQ(x.n, y.n);
      EXPECT_EQ(0, std::memcmp(x.x.data, y.x.data, x.x.nbytes())) << "epoch " << epoch << " batch " << k;
      EXPECT_EQ(0, std::memcmp(x.rows.data, y.rows.data, x.rows.nbytes()));
      EXPECT_EQ(0, std::memcmp(x.cont.data, y.cont.data, x.cont.nbytes()));
    }
  }
}

TEST(Loader, BadInputsAreRefused) {
  Data d;
  auto b = make_cpu_backend(1, 1);
  CellTable wrong = d.cells;
  wrong.batch.pop_back();
  EXPECT_THROW(DeviceDataset(*b, d.view(), wrong), Error);
  DeviceDataset ds(*b, d.view(), d.cells);
  EXPECT_THROW(ds.begin_epoch({0, 1, int32_t(d.R)}, false, 0, 0, 8), Error);
  EXPECT_THROW(ds.begin_epoch({0, 1}, false, 0, 0, 0), Error);
}

}  // namespace
}  // namespace cuvi
