// Launchers for the Philox GPU test (tests/engine/philox_device.cu); synchronous use only.
#pragma once
#include <cstdint>

namespace cuvi::test {
void curand_philox_words(uint64_t seed, uint64_t subsequence, uint32_t* out_device, int n);
void cuvi_philox_words(uint64_t seed, uint32_t step, uint32_t stream, uint32_t* words_device,
                       double* normals_device, int n);
}  // namespace cuvi::test
