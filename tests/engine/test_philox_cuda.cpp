// GPU checks of the RNG (label gpu): cuvi's Philox on the device equals cuRAND's philox4_32_10
// for the documented (seed, step, stream, element) mapping, and equals the CPU bit for bit.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <vector>

#include "engine/backend.h"
#include "kernels/common/philox.h"
#include "tests/engine/philox_device.h"

namespace cuvi::test {
namespace {

TEST(PhiloxCuda, MatchesCurandAndCpu) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const int n = 4099;
  const uint64_t seed = 0x0123456789abcdefull;
  const uint32_t step = 17, stream = 5;
  uint32_t *d_curand = nullptr, *d_cuvi = nullptr;
  double* d_norm = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_curand), n * 4), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_cuvi), n * 4), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_norm), n * 8), cudaSuccess);
  curand_philox_words(seed, (uint64_t(step) << 32) | stream, d_curand, n);
  cuvi_philox_words(seed, step, stream, d_cuvi, d_norm, n);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<uint32_t> a(n), b(n);
  std::vector<double> z(n);
  cudaMemcpy(a.data(), d_curand, n * 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(b.data(), d_cuvi, n * 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(z.data(), d_norm, n * 8, cudaMemcpyDeviceToHost);
  cudaFree(d_curand);
  cudaFree(d_cuvi);
  cudaFree(d_norm);
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(a[i], b[i]) << "word " << i << " differs from cuRAND";
    ASSERT_EQ(b[i], philox_u32(seed, step, stream, i)) << "word " << i << " differs from the CPU";
    // Normals: the same words through Box-Muller in double; float values must be identical.
    ASSERT_EQ(float(z[i]), float(philox_normal(seed, step, stream, i))) << "normal " << i;
  }
}

}  // namespace
}  // namespace cuvi::test
