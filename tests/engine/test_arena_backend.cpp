// Arena planning and overflow, backend choice (--device cpu|cuda|auto) and parameter-store layout.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "engine/arena.h"
#include "engine/backend.h"
#include "engine/params.h"

namespace cuvi {
namespace {

TEST(Arena, AllocationsAreAlignedAndResetReusesMemory) {
  auto b = make_cpu_backend(1, 1);
  Arena a(*b, 4096, "test");
  void* p1 = a.allocate(10);
  void* p2 = a.allocate(300);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p1) % Arena::kAlign, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p2) % Arena::kAlign, 0u);
  EXPECT_EQ(static_cast<char*>(p2) - static_cast<char*>(p1), 256);
  EXPECT_EQ(a.used(), 768u);
  a.reset();
  EXPECT_EQ(a.allocate(10), p1);
  EXPECT_EQ(a.high_water(), 768u);
}

TEST(Arena, OverflowIsAReadableError) {
  auto b = make_cpu_backend(1, 1);
  Arena a(*b, 1024, "activation");
  a.allocate(1000);
  try {
    a.allocate(100);
    FAIL() << "expected an overflow error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("activation arena overflow"), std::string::npos) << e.what();
  }
}

TEST(Arena, MeasuringCountsWithoutMemory) {
  Arena m = Arena::measuring(Device::CPU, "plan");
  m.allocate(1);
  m.allocate(257);
  m.tensor(DType::F32, Shape{128, 2000});
  EXPECT_EQ(m.high_water(), 256u + 512u + align_up(128 * 2000 * 4, 256));
  EXPECT_TRUE(m.is_measuring());
}

TEST(Backend, AutoPicksCpuWithoutDeviceAndSaysWhy) {
  std::string msg;
  auto b = make_backend("auto", 3, &msg);
  if (cuda_device_available()) {
    EXPECT_EQ(b->device(), Device::CUDA);
    EXPECT_NE(msg.find("cuda"), std::string::npos);
  } else {
    EXPECT_EQ(b->device(), Device::CPU);
    EXPECT_NE(msg.find("no CUDA device"), std::string::npos) << msg;
  }
}

TEST(Backend, CudaRequestWithoutDeviceFailsCleanly) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  try {
    make_backend("cuda", 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_backend("gpu", 1), Error);
}

// A one-thread backend sets OpenMP's thread count for the process; a later backend asking for the default
// (n_threads <= 0) must still get the count the process started with (a Python session makes several backends).
TEST(Backend, DefaultThreadCountSurvivesAOneThreadBackend) {
  const int initial = make_cpu_backend(1, 0)->ctx().n_threads;
  if (initial < 2) GTEST_SKIP() << "the process starts with one thread (OMP_NUM_THREADS=1): nothing to lose";
  EXPECT_EQ(make_cpu_backend(1, 1)->ctx().n_threads, 1);
  EXPECT_EQ(make_cpu_backend(1, 0)->ctx().n_threads, initial);
  EXPECT_EQ(make_cpu_backend(1, -1)->ctx().n_threads, initial);
}

TEST(Backend, StepScalarsRoundTrip) {
  auto b = make_cpu_backend(1, 1);
  StepScalars s;
  s.kl_weight = 0.25;
  s.step = 41;
  b->write_scalars(s);
  EXPECT_EQ(b->read_scalars().step, 41);
  EXPECT_EQ(b->ctx().scalars->kl_weight, 0.25);
}

TEST(ParamStore, FlatLayoutIsAlignedAndInitIsStablePerName) {
  auto b = make_cpu_backend(1, 1);
  ParamStore a, c;
  a.add("w", Shape{3, 5}, Init::torch_linear(5));
  a.add("b", Shape{3}, Init::constant(0.5));
  a.add_buffer("running_mean", Shape{3}, Init::zeros());
  c.add("extra", Shape{7}, Init::normal(0, 1));
  c.add("w", Shape{3, 5}, Init::torch_linear(5));
  a.allocate(*b);
  c.allocate(*b);
  a.initialize(9);
  c.initialize(9);
  EXPECT_EQ(a.entry(1).offset % ParamStore::kAlignFloats, 0u);
  EXPECT_EQ(a.get(a.find("w")), c.get(c.find("w")));  // same name, same draws
  for (float v : a.get(a.find("w"))) {
    EXPECT_LE(std::abs(v), 1 / std::sqrt(5.0f));
  }
  for (float v : a.get(a.find("b"))) EXPECT_EQ(v, 0.5f);
  EXPECT_THROW(a.grad(a.find("running_mean")), Error);
  EXPECT_EQ(a.value(2).device, Device::CPU);
}

}  // namespace
}  // namespace cuvi
