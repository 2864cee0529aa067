// Device-resident loader on the CUDA backend (label gpu): the device Philox shuffle (CUB radix sort) gives
// the CPU backend's epoch order, and every minibatch (densified counts, covariates, rows) is identical.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "engine/arena.h"
#include "engine/loader.h"

namespace cuvi {
namespace {

// A small CSR matrix with empty rows, rows with every gene and exact float values.
struct Data {
  int64_t R = 301, G = 37;
  std::vector<int64_t> indptr;
  std::vector<int32_t> indices;
  std::vector<float> data;
  CellTable cells;
  Data() {
    indptr.push_back(0);
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t g = 0; g < G; ++g) {
        const bool full = r % 50 == 7, empty = r % 23 == 5;
        if (!empty && (full || (r * 31 + g * 17) % 7 < 2)) {
          indices.push_back(int32_t(g));
          data.push_back(float((r * 13 + g * 5) % 29 + 1));
        }
      }
      indptr.push_back(int64_t(indices.size()));
    }
    cells.n_codes = 2;
    cells.n_cont = 3;
    for (int64_t r = 0; r < R; ++r) {
      cells.codes.push_back(int32_t(r % 3));
      cells.codes.push_back(int32_t(3 + r % 4));
      cells.batch.push_back(int32_t(r % 3));
      cells.labels.push_back(int32_t(r % 5));
      for (int c = 0; c < 3; ++c) cells.cont.push_back(0.25f * float(r) - float(c));
    }
  }
  CsrView view() const {
    CsrView v;
    v.indptr = indptr.data();
    v.indices = indices.data();
    v.data = data.data();
    v.n_rows = R;
    v.n_cols = G;
    return v;
  }
};

std::vector<unsigned char> host_bytes(Backend& b, const Tensor& t) {
  std::vector<unsigned char> v(t.defined() ? t.nbytes() : 0);
  if (!v.empty()) b.download(v.data(), t.data, v.size());
  return v;
}

// One epoch on both backends: same order, then byte-identical minibatches.
void compare_epoch(const LoaderOptions& cuda_options, const std::vector<int32_t>& rows, bool shuffle,
                   uint32_t epoch, int64_t batch_size) {
  const Data d;
  auto cpu = make_cpu_backend(3, 1);
  auto gpu = make_cuda_backend(3);
  DeviceDataset a(*cpu, d.view(), d.cells), b(*gpu, d.view(), d.cells, cuda_options);
  ASSERT_EQ(b.streaming(), cuda_options.memory_budget_bytes != 0);
  a.begin_epoch(rows, shuffle, 77, epoch, batch_size);
  b.begin_epoch(rows, shuffle, 77, epoch, batch_size);
  ASSERT_EQ(a.epoch_order(), b.epoch_order()) << "epoch " << epoch << (shuffle ? " shuffled" : " in order");
  ASSERT_EQ(a.n_batches(), b.n_batches());
  Arena arena_a(*cpu, 1 << 20, "test"), arena_b(*gpu, 1 << 20, "test");
  for (int64_t k = 0; k < a.n_batches(); ++k) {
    arena_a.reset();
    arena_b.reset();
    const MiniBatch x = a.batch(k, arena_a), y = b.batch(k, arena_b);
    ASSERT_EQ(x.n, y.n);
    const std::string where = "minibatch " + std::to_string(k) + " of epoch " + std::to_string(epoch);
    EXPECT_EQ(host_bytes(*cpu, x.x), host_bytes(*gpu, y.x)) << where << ": counts";
    EXPECT_EQ(host_bytes(*cpu, x.codes), host_bytes(*gpu, y.codes)) << where << ": codes";
    EXPECT_EQ(host_bytes(*cpu, x.batch), host_bytes(*gpu, y.batch)) << where << ": batch";
    EXPECT_EQ(host_bytes(*cpu, x.labels), host_bytes(*gpu, y.labels)) << where << ": labels";
    EXPECT_EQ(host_bytes(*cpu, x.cont), host_bytes(*gpu, y.cont)) << where << ": continuous covariates";
    EXPECT_EQ(host_bytes(*cpu, x.rows), host_bytes(*gpu, y.rows)) << where << ": rows";
  }
}

std::vector<int32_t> all_rows(int64_t n) {
  std::vector<int32_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = int32_t(i);
  return v;
}

class LoaderCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_F(LoaderCuda, ResidentShuffleMatchesCpu) {
  for (uint32_t epoch : {0u, 1u, 5u}) compare_epoch({}, all_rows(301), true, epoch, 64);
}

TEST_F(LoaderCuda, ResidentSubsetInOrderAndShuffled) {
  std::vector<int32_t> subset;
  for (int32_t r = 300; r >= 0; r -= 3) subset.push_back(r);  // a validation-like subset, not sorted
  compare_epoch({}, subset, false, 0, 16);
  compare_epoch({}, subset, true, 2, 16);
}

TEST_F(LoaderCuda, StreamingMatchesCpu) {
  LoaderOptions o;
  o.memory_budget_bytes = 1024;  // forces host super-batches
  o.prefetch_batches = 2;
  compare_epoch(o, all_rows(301), true, 3, 32);
}

}  // namespace
}  // namespace cuvi
