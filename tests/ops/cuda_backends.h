// The backends the registry-wide CPU-vs-CUDA suites compare: one CUDA backend (null without a device)
// and one CPU reference backend, both seeded 1234 and shared by every test of a binary.
#pragma once
#include <memory>

#include "engine/backend.h"

namespace cuvi::test {

inline Backend* cuda_backend() {
  static std::unique_ptr<Backend> b = [] {
    std::unique_ptr<Backend> r;
    if (cuda_device_available()) r = make_cuda_backend(1234);
    return r;
  }();
  return b.get();
}

inline Backend& cpu_backend() {
  static std::unique_ptr<Backend> b = make_cpu_backend(1234, 2);
  return *b;
}

}  // namespace cuvi::test
