// Tests of the CUDA emulator itself: warp collectives, barriers, shared memory, cuBLAS, CUB and cuRAND
// against their documented semantics, and the faults it must report (built only into cuvi_tests_emu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cub/device/device_radix_sort.cuh>
#include <curand_kernel.h>  // the device generator, callable on the host in the emulator

#include "tools/cuda_emu/selftest.h"

namespace emu_selftest {
namespace {

template <class T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  explicit Dev(size_t count) : n(count) { EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T)), cudaSuccess); }
  Dev(const std::vector<T>& v) : Dev(v.size()) { put(v); }
  ~Dev() { cudaFree(p); }
  void put(const std::vector<T>& v) {
    ASSERT_EQ(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  std::vector<T> get() const {
    std::vector<T> v(n);
    EXPECT_EQ(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return v;
  }
};

// Faults provoked on purpose are reported as expected, not counted as errors of the run.
struct ExpectFaults {
  ExpectFaults() {
    cudaGetLastError();
    emu_expect_faults(1);
  }
  ~ExpectFaults() {
    emu_expect_faults(0);
    cudaGetLastError();
  }
};

TEST(EmuSelfTest, ShufflesFollowCudaLaneRules) {
  const int n = 64;
  std::vector<float> in(n);
  for (int t = 0; t < n; ++t) in[t] = 1.5f * float(t) + 0.25f;
  Dev<float> din(in), dout(n);
  for (int kind : {kIdx, kUp, kDown, kXor})
    for (int width : {32, 16, 4})
      for (int arg : {0, 1, 3, 5, 17}) {
        shuffle(kind, din.p, dout.p, n, arg, width);
        ASSERT_EQ(cudaGetLastError(), cudaSuccess);
        const std::vector<float> got = dout.get();
        for (int t = 0; t < n; ++t) {
          const int lane = t % 32, warp0 = t - lane, base = lane - lane % width;
          int src = lane;
          switch (kind) {
            case kIdx: src = base + arg % width; break;
            case kUp: src = lane - arg >= base ? lane - arg : lane; break;
            case kDown: src = lane + arg < base + width ? lane + arg : lane; break;
            case kXor: src = (lane ^ arg) < base + width ? (lane ^ arg) : lane; break;
          }
          ASSERT_EQ(got[t], in[warp0 + src]) << "kind " << kind << " width " << width << " arg " << arg << " thread "
                                             << t;
        }
      }
}

TEST(EmuSelfTest, VotesCoverTheWarp) {
  const int n = 64;
  std::vector<int> in(n);
  for (int t = 0; t < n; ++t) in[t] = t < 32 ? (t % 3 == 0) : 1;
  Dev<int> din(in);
  Dev<unsigned> dout(3 * n);
  vote(din.p, dout.p, n);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<unsigned> got = dout.get();
  unsigned ballot0 = 0;
  for (int l = 0; l < 32; ++l) ballot0 |= unsigned(l % 3 == 0) << l;
  for (int t = 0; t < n; ++t) {
    EXPECT_EQ(got[3 * t], t < 32 ? ballot0 : 0xffffffffu) << t;
    EXPECT_EQ(got[3 * t + 1], 1u) << t;
    EXPECT_EQ(got[3 * t + 2], t < 32 ? 0u : 1u) << t;
  }
}

TEST(EmuSelfTest, BarriersAndSharedMemory) {
  std::vector<float> in(1000);
  double ref = 0;
  for (size_t i = 0; i < in.size(); ++i) ref += in[i] = float(i % 17);
  Dev<float> din(in), dout(1);
  for (int threads : {32, 256, 1024}) {
    block_sum(din.p, dout.p, int(in.size()), threads);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    EXPECT_EQ(dout.get()[0], float(ref)) << threads << " threads";
  }
  std::vector<float> signs(96);
  int positive = 0;
  for (int t = 0; t < 96; ++t) positive += (signs[t] = float(t % 5) - 1.5f) > 0;
  Dev<float> ds(signs);
  Dev<int> dc(1);
  barrier_count(ds.p, dc.p, 96);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(dc.get()[0], positive);
  // Shared memory starts as NaN, so a read before any write shows in the result.
  Dev<float> du(64);
  read_uninitialised_shared(du.p, 64);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  for (float v : du.get()) EXPECT_TRUE(std::isnan(v));
}

TEST(EmuSelfTest, ReportsBarrierAndWarpFaults) {
  ExpectFaults expect;
  Dev<float> d(64);
  divergent_barrier(d.p, 64);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  // A 48-thread block: its second warp has 16 lanes, so a full-mask shuffle reads lanes that do not
  // exist; those values are NaN (undefined on hardware), the complete warp is exact.
  missing_shuffle_lanes(d.p, 48);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<float> v = d.get();
  for (int t = 0; t < 32; ++t) EXPECT_EQ(v[t], 496.f) << t;
  for (int t = 32; t < 48; ++t) EXPECT_TRUE(std::isnan(v[t])) << t;
}

TEST(EmuSelfTest, ReportsLaunchAndMemoryFaults) {
  ExpectFaults expect;
  Dev<float> d(50);
  write_past_end(d.p, 50);
  EXPECT_EQ(cudaGetLastError(), cudaErrorIllegalAddress);
  launch_with_threads(d.p, 1024);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  launch_with_threads(d.p, 1025);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  launch_over_bounds(d.p);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchOutOfResources);
  Dev<float> big(4096);
  launch_with_dynamic_smem(big.p, 48 * 1024);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  launch_with_dynamic_smem(big.p, 48 * 1024 + 4);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  restrict_alias(d.p, 50);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  float host[64];
  launch_with_threads(host, 32);
  EXPECT_EQ(cudaGetLastError(), cudaErrorIllegalAddress);
  std::vector<float> heap(4, 1.f);
  struct_with_pointers(d.p, d.p + 1, d.p + 2);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  struct_with_pointers(d.p, heap.data(), d.p + 2);
  EXPECT_EQ(cudaGetLastError(), cudaErrorIllegalAddress) << "a host pointer inside a struct argument";
  struct_with_pointers(host, d.p, d.p + 2);
  EXPECT_EQ(cudaGetLastError(), cudaErrorIllegalAddress) << "a stack pointer inside a struct argument";
  EXPECT_NE(cudaMemcpy(d.p, host, 64 * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess) << "past the end";
  EXPECT_NE(cudaMemcpy(host, d.p, 8, cudaMemcpyHostToDevice), cudaSuccess) << "wrong direction";
  EXPECT_NE(cudaMemsetAsync(host, 0, 8, nullptr), cudaSuccess) << "memset of host memory";
  EXPECT_NE(cudaFree(d.p + 1), cudaSuccess) << "free of an interior pointer";
  cudaGetLastError();
}

TEST(EmuSelfTest, HostCannotDereferenceDeviceMemory) {
  const char* protect = std::getenv("CUVI_EMU_PROTECT");
  if (protect && std::strcmp(protect, "0") == 0) GTEST_SKIP() << "CUVI_EMU_PROTECT=0";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Dev<float> d(16);
  EXPECT_DEATH({ volatile float x = d.p[3]; (void)x; }, "host code dereferenced device memory");
}

TEST(EmuSelfTest, SgemmIsColumnMajorCublas) {
  cublasHandle_t h;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  const int m = 5, n = 7, k = 3;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const int lda = (ta ? k : m) + 2, ldb = (tb ? n : k) + 1, ldc = m + 3;
      std::vector<float> A(lda * (ta ? m : k)), B(ldb * (tb ? k : n)), C(ldc * n, NAN);
      for (size_t i = 0; i < A.size(); ++i) A[i] = float(int(i * 7 % 13) - 6) * 0.5f;
      for (size_t i = 0; i < B.size(); ++i) B[i] = float(int(i * 5 % 11) - 5) * 0.25f;
      Dev<float> dA(A), dB(B), dC(C);
      const float one = 1.f, zero = 0.f, two = 2.f;
      ASSERT_EQ(cublasSgemm(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &two, dA.p,
                            lda, dB.p, ldb, &zero, dC.p, ldc),
                CUBLAS_STATUS_SUCCESS);
      std::vector<float> got = dC.get();
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          double s = 0;
          for (int l = 0; l < k; ++l)
            s += double(ta ? A[i * lda + l] : A[l * lda + i]) * double(tb ? B[l * ldb + j] : B[j * ldb + l]);
          EXPECT_EQ(got[j * ldc + i], float(2 * s)) << "beta = 0 ignores the NaN in C; ta " << ta << " tb " << tb;
        }
      ASSERT_EQ(cublasSgemm(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &one, dA.p,
                            lda, dB.p, ldb, &one, dC.p, ldc),
                CUBLAS_STATUS_SUCCESS);
      const std::vector<float> acc = dC.get();
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) EXPECT_EQ(acc[j * ldc + i], 1.5f * got[j * ldc + i]) << "beta = 1 accumulates";
      EXPECT_TRUE(std::isnan(acc[m])) << "rows past m of C are not touched";
    }
  ExpectFaults expect;
  Dev<float> d(64);
  const float one = 1.f;
  EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, d.p, 3, d.p, 4, &one, d.p, 4),
            CUBLAS_STATUS_INVALID_VALUE) << "lda < m";
  EXPECT_NE(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 9, 9, 9, &one, d.p, 9, d.p, 9, &one, d.p, 9),
            CUBLAS_STATUS_SUCCESS) << "operands larger than their allocation";
  cublasDestroy(h);
}

TEST(EmuSelfTest, RadixSortKeysProtocolAndStability) {
  const int n = 1000;
  std::vector<uint64_t> keys(n);
  for (int i = 0; i < n; ++i) keys[i] = (uint64_t(i * 2654435761u % 97) << 32) | uint64_t(i);
  Dev<uint64_t> in(keys), out(n);
  size_t bytes = 0;
  ASSERT_EQ(cub::DeviceRadixSort::SortKeys(nullptr, bytes, in.p, out.p, n), cudaSuccess);
  ASSERT_GT(bytes, 0u);
  Dev<char> temp(bytes);
  // Bits [32, 64) only: equal high halves keep their input order (the sort is stable).
  ASSERT_EQ(cub::DeviceRadixSort::SortKeys(temp.p, bytes, in.p, out.p, n, 32, 64), cudaSuccess);
  std::vector<uint64_t> ref = keys;
  std::stable_sort(ref.begin(), ref.end(), [](uint64_t a, uint64_t b) { return (a >> 32) < (b >> 32); });
  EXPECT_EQ(out.get(), ref);
  ExpectFaults expect;
  size_t small = bytes - 256;
  EXPECT_NE(cub::DeviceRadixSort::SortKeys(temp.p, small, in.p, out.p, n), cudaSuccess);
}

TEST(EmuSelfTest, CurandPhiloxKnownAnswers) {
  // Random123 known-answer vectors for Philox-4x32-10: counter 0 with key 0, and the pi-digit case
  // (counter 243f6a88 85a308d3 13198a2e 03707344, key a4093822 299f31d0).
  curandStatePhilox4_32_10_t s;
  curand_init(0, 0, 0, &s);
  EXPECT_EQ(curand(&s), 0x6627e8d5u);
  EXPECT_EQ(curand(&s), 0xe169c58du);
  EXPECT_EQ(curand(&s), 0xbc57ac4cu);
  EXPECT_EQ(curand(&s), 0x9b00dbd8u);
  curand_init(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0, &s);
  for (int q = 0; q < 4; ++q) skipahead(0x85a308d3243f6a88ull, &s);  // 4 x (B words) = B blocks
  const uint4 w = curand4(&s);
  EXPECT_EQ(w.x, 0xd16cfe09u);
  EXPECT_EQ(w.y, 0x94fdccebu);
  EXPECT_EQ(w.z, 0x5001e420u);
  EXPECT_EQ(w.w, 0x24126ea1u);
  // The offset addresses words: offset 6 is word 2 of block 1.
  curandStatePhilox4_32_10_t a, b;
  curand_init(42, 7, 0, &a);
  curand_init(42, 7, 6, &b);
  for (int i = 0; i < 6; ++i) curand(&a);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(curand(&a), curand(&b)) << i;
}

}  // namespace
}  // namespace emu_selftest
