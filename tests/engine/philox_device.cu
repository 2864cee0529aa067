// Device-side helpers for the Philox GPU test: cuRAND's philox4_32_10 words and cuvi's own
// Philox (kernels/common/philox.h) evaluated on the device, both written to device buffers.
#include <curand_kernel.h>

#include "kernels/common/philox.h"
#include "tests/engine/philox_device.h"

namespace cuvi::test {

__global__ void curand_words_kernel(uint64_t seed, uint64_t subsequence, uint32_t* out, int n) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  curandStatePhilox4_32_10_t st;
  curand_init(seed, subsequence, 0, &st);
  for (int i = 0; i < n; ++i) out[i] = curand(&st);
}

__global__ void cuvi_words_kernel(uint64_t seed, uint32_t step, uint32_t stream, uint32_t* words, double* normals,
                                  int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  words[i] = philox_u32(seed, step, stream, uint64_t(i));
  normals[i] = philox_normal(seed, step, stream, uint64_t(i));
}

void curand_philox_words(uint64_t seed, uint64_t subsequence, uint32_t* out_device, int n) {
  curand_words_kernel<<<1, 1>>>(seed, subsequence, out_device, n);
}

void cuvi_philox_words(uint64_t seed, uint32_t step, uint32_t stream, uint32_t* words_device,
                       double* normals_device, int n) {
  cuvi_words_kernel<<<(n + 255) / 256, 256>>>(seed, step, stream, words_device, normals_device, n);
}

}  // namespace cuvi::test
