// CPU backend: host memory, OpenMP threads for the reference kernels, host-resident step scalars.
#include <cblas.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "engine/backend.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace cuvi {
namespace {

// The thread count the process started with (OMP_NUM_THREADS or the cores), read once at load: a backend made
// with n_threads = 1 calls omp_set_num_threads(1), after which omp_get_max_threads() would return 1 for every
// later "default" backend in the same process (a Python session, a test binary).
const int kDefaultThreads = omp_get_max_threads();

class CpuBackend final : public Backend {
 public:
  CpuBackend(uint64_t seed, int n_threads) {
    if (n_threads <= 0) n_threads = kDefaultThreads;
    m_ctx.device = Device::CPU;
    m_ctx.seed = seed;
    m_ctx.n_threads = n_threads;
    m_ctx.scalars = &m_scalars;
    omp_set_num_threads(n_threads);
    openblas_set_num_threads(n_threads);  // its OpenMP build follows omp_set_num_threads; a pthread build needs this
  }
  Device device() const override { return Device::CPU; }
  std::string describe() const override {
    return "cpu (" + std::to_string(m_ctx.n_threads) + " thread" + (m_ctx.n_threads == 1 ? "" : "s") + ", " +
           cpu_blas_description() + ")";
  }
  // Large buffers (the arenas) on 2 MiB boundaries and, on Linux, marked for transparent huge pages:
  // their first touch then takes one fault per 2 MiB instead of per 4 KiB, and the (B, G) element
  // passes miss the TLB far less. A hint only: where it is refused, ordinary pages serve.
  void* allocate(size_t bytes) override {
    constexpr size_t kHuge = size_t(2) << 20;
    const bool huge = bytes >= 2 * kHuge;
    const size_t align = huge ? kHuge : 256, size = (align256(bytes) + align - 1) / align * align;
    void* p = std::aligned_alloc(align, size);
    if (!p) fail("out of host memory allocating " + std::to_string(bytes) + " bytes");
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge) madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
  }
  void deallocate(void* ptr) override { std::free(ptr); }
  void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void fill_zero(void* dst, size_t bytes) override { std::memset(dst, 0, bytes); }
  void synchronize() override {}
  StepScalars read_scalars() override { return m_scalars; }
  void write_scalars(const StepScalars& s) override { m_scalars = s; }

 private:
  static size_t align256(size_t n) { return (n + 255) / 256 * 256 + (n == 0 ? 256 : 0); }
  StepScalars m_scalars;
};

}  // namespace

const char* compiled_isa() {
#if defined(__AVX512F__)
  return "AVX-512";
#elif defined(__AVX2__)
  return "AVX2";
#elif defined(__AVX__)
  return "AVX";
#elif defined(__x86_64__)
  return "SSE2";
#else
  return "generic";
#endif
}

std::string cpu_blas_description() {
  const int parallel = openblas_get_parallel();  // 0 sequential, 1 pthreads, 2 OpenMP
  return std::string("OpenBLAS ") + openblas_get_corename() + " kernels, " +
         (parallel == 2 ? "OpenMP" : parallel == 1 ? "pthreads" : "single-threaded") + " build";
}

std::unique_ptr<Backend> make_cpu_backend(uint64_t seed, int n_threads) {
  return std::make_unique<CpuBackend>(seed, n_threads);
}

std::unique_ptr<Backend> make_backend(const std::string& choice, uint64_t seed, std::string* message, int n_threads) {
  std::string why;
  if (choice == "cpu") {
    auto b = make_cpu_backend(seed, n_threads);
    if (message) *message = "device: " + b->describe();
    return b;
  }
  if (choice == "cuda") {
    if (!cuda_device_available(&why)) fail("--device cuda was requested but no CUDA device is usable: " + why);
    auto b = make_cuda_backend(seed);
    if (message) *message = "device: " + b->describe();
    return b;
  }
  if (choice == "auto") {
    if (cuda_device_available(&why)) {
      auto b = make_cuda_backend(seed);
      if (message) *message = "device: " + b->describe() + " (auto: CUDA device found)";
      return b;
    }
    auto b = make_cpu_backend(seed, n_threads);
    if (message) *message = "device: " + b->describe() + " (auto: no CUDA device: " + why + ")";
    return b;
  }
  fail("unknown --device '" + choice + "' (expected cpu, cuda or auto)");
}

DeviceBuffer::DeviceBuffer(Backend& b, size_t bytes) : m_backend(&b), m_ptr(b.allocate(bytes)), m_bytes(bytes) {}
DeviceBuffer::~DeviceBuffer() {
  if (m_backend && m_ptr) m_backend->deallocate(m_ptr);
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept : m_backend(o.m_backend), m_ptr(o.m_ptr), m_bytes(o.m_bytes) {
  o.m_ptr = nullptr;
  o.m_bytes = 0;
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (m_backend && m_ptr) m_backend->deallocate(m_ptr);
    m_backend = o.m_backend;
    m_ptr = o.m_ptr;
    m_bytes = o.m_bytes;
    o.m_ptr = nullptr;
    o.m_bytes = 0;
  }
  return *this;
}

}  // namespace cuvi
