// The CUDA backend of a CPU-only build (CUVI_CPU_ONLY, configured without nvcc or with CUVI_CUDA=OFF):
// no device is ever usable, and the reason names the build, so --device cuda fails with a clear message.
#include "engine/backend.h"
#include "engine/error.h"

namespace cuvi {

namespace {
constexpr const char* kNoCuda = "this build has no CUDA support (cuvi was built without the CUDA toolkit)";
}

bool cuda_device_available(std::string* why_not) {
  if (why_not) *why_not = kNoCuda;
  return false;
}

std::unique_ptr<Backend> make_cuda_backend(uint64_t, int) {
  fail(std::string("cannot create a CUDA backend: ") + kNoCuda);
}

}  // namespace cuvi
