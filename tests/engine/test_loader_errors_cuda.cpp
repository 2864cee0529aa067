// The minibatch gather on the CUDA backend (label gpu): log1p(x) and the log library come out of the gather
// pass; a cursor past the epoch or a row outside the matrix is recorded on the device (no trap, the context
// stays usable) and reported by the host in one line naming the bad value.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/arena.h"
#include "engine/loader.h"
#include "engine/registry.h"
#include "tests/models/synthetic_counts.h"

namespace cuvi {
namespace {

class LoaderErrorsCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  }
};

std::vector<float> host_floats(Backend& b, const Tensor& t) {
  std::vector<float> v(size_t(t.numel()));
  b.download(v.data(), t.data, v.size() * sizeof(float));
  return v;
}

std::vector<int32_t> all_rows(int64_t n) {
  std::vector<int32_t> r(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) r[size_t(i)] = int32_t(i);
  return r;
}

TEST_F(LoaderErrorsCuda, GatherAlsoGivesLog1pAndTheLogLibrary) {
  const test::SyntheticCounts c(45, 33);
  auto b = make_cuda_backend(1);
  CellTable cells;
  cells.batch.assign(c.R, 0);
  cells.labels.assign(c.R, 0);
  DeviceDataset ds(*b, c.view(), cells);
  ds.begin_epoch(all_rows(c.R), true, 5, 0, 16);
  Arena arena(*b, 1 << 20, "test");
  const std::vector<int32_t> order = ds.epoch_order();
  const MiniBatch mb = ds.batch(0, arena);
  const std::vector<float> x = host_floats(*b, mb.x), xl = host_floats(*b, mb.x_log1p),
                           lib = host_floats(*b, mb.log_library);
  ASSERT_EQ(mb.log_library.shape, Shape({16, 1}));
  for (int64_t n = 0; n < mb.n; ++n) {
    double total = 0;
    for (int64_t k = c.indptr[order[n]]; k < c.indptr[order[n] + 1]; ++k) total += c.data[k];
    EXPECT_NEAR(lib[n], std::log(total), 2e-7 * std::log(total)) << "cell " << n;
    for (int64_t g = 0; g < c.G; ++g) {
      const double want = std::log1p(double(x[n * c.G + g]));
      EXPECT_NEAR(xl[n * c.G + g], want, 2.5e-7 * want) << "cell " << n << ", gene " << g;
    }
  }
  ds.check_device_errors();  // nothing recorded
}

TEST_F(LoaderErrorsCuda, CursorPastTheEpochIsReportedInOneLine) {
  const test::SyntheticCounts c(40, 9);
  auto b = make_cuda_backend(1);
  CellTable cells;
  cells.batch.assign(c.R, 0);
  cells.labels.assign(c.R, 0);
  DeviceDataset ds(*b, c.view(), cells);
  ds.begin_epoch(all_rows(c.R), false, 5, 0, 16);
  StepScalars s = b->read_scalars();
  s.batch_start = 30;  // minibatch 0 has 16 cells: 30 + 16 > 40
  b->write_scalars(s);
  Arena arena(*b, 1 << 20, "test");
  const MiniBatch mb = ds.batch(0, arena);
  const std::vector<float> x = host_floats(*b, mb.x);
  EXPECT_TRUE(std::isnan(x[0])) << "rows of a minibatch past the epoch must not hold data";
  try {
    ds.check_device_errors();
    FAIL() << "the cursor past the epoch was not reported";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("cursor"), std::string::npos) << m;
    EXPECT_NE(m.find("position 30 of the epoch's 40 rows"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // Reported once, then cleared; the context still works.
  ds.check_device_errors();
  EXPECT_EQ(b->read_scalars().device_error[0], 0);
}

TEST_F(LoaderErrorsCuda, RowOutsideTheMatrixIsRecordedAndNamed) {
  const test::SyntheticCounts c(12, 7);
  auto b = make_cuda_backend(1);
  std::vector<int32_t> rows = {3, 11, 12, 5};  // 12 is one past the last row
  DeviceBuffer indptr(*b, c.indptr.size() * 8), indices(*b, c.indices.size() * 4), data(*b, c.data.size() * 4),
      drows(*b, rows.size() * 4);
  b->upload(indptr.data(), c.indptr.data(), indptr.size());
  b->upload(indices.data(), c.indices.data(), indices.size());
  b->upload(data.data(), c.data.data(), data.size());
  b->upload(drows.data(), rows.data(), drows.size());
  const int64_t N = 4, nnz = int64_t(c.indices.size());
  DeviceBuffer out(*b, size_t(N * c.G * 2 + N) * 4);
  float* o = static_cast<float*>(out.data());
  Tensor in[4] = {Tensor(indptr.data(), DType::I64, Device::CUDA, Shape{c.R + 1}),
                  Tensor(indices.data(), DType::I32, Device::CUDA, Shape{nnz}),
                  Tensor(data.data(), DType::F32, Device::CUDA, Shape{nnz}),
                  Tensor(drows.data(), DType::I32, Device::CUDA, Shape{N})};
  Tensor res[3] = {Tensor(o, DType::F32, Device::CUDA, Shape{N, c.G}),
                   Tensor(o + N * c.G, DType::F32, Device::CUDA, Shape{N, c.G}),
                   Tensor(o + 2 * N * c.G, DType::F32, Device::CUDA, Shape{N, 1})};
  OpParams p;
  p.i[0] = c.G;
  OpIO io;
  io.in = in;
  io.n_in = 4;
  io.out = res;
  io.n_out = 3;
  io.p = &p;
  io.ctx = &b->ctx();
  run_forward(op("gather_csr_rows"), io);
  const StepScalars s = b->read_scalars();
  EXPECT_EQ(s.device_error[0], 2);  // kDeviceErrorRow
  EXPECT_EQ(s.device_error[1], 12);
  const std::vector<float> lib = host_floats(*b, res[2]);
  EXPECT_TRUE(std::isnan(lib[2]));
  EXPECT_TRUE(std::isfinite(lib[0]) && std::isfinite(lib[1]) && std::isfinite(lib[3]));
}

}  // namespace
}  // namespace cuvi
