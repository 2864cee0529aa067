// Backend: the CPU and CUDA execution targets behind one interface, chosen at run time.
// Owns the per-run execution context (stream, cuBLAS handles, workspace, device-resident step scalars).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/tensor.h"

namespace cuvi {

// Per-step scalars that kernels read at run time. On CUDA they live in device memory, so a captured
// step graph replays with new values; the optimizer advances `step` on the device itself.
struct StepScalars {
  double kl_weight = 1.0;   // warm-up weight of KL(q(z|x) || p(z))
  double lr = 1e-3;         // learning rate
  int64_t step = 0;         // optimizer steps taken so far (RNG step and Adam bias correction)
  double clip_scale = 1.0;  // gradient scale written by global-norm clipping (1 when off)
  double grad_norm = 0.0;   // last global gradient norm (diagnostic)
  // Position in the epoch's row order of the next minibatch's first row: zeroed by begin_epoch, advanced
  // by the batch size each time a minibatch is gathered (on the device on CUDA), so a captured gather
  // reads the right rows when its graph is replayed.
  int64_t batch_start = 0;
  // (kind, value) recorded by a device kernel instead of trapping (kernels/common/device_error.h); the loader
  // reads it after each epoch (DeviceDataset::check_device_errors) and reports it in one line.
  int64_t device_error[2] = {0, 0};
  uint64_t gather_blocks_done = 0;  // completion counter of the minibatch gather's blocks (zero between steps)
};

struct ExecContext {
  Device device = Device::CPU;
  void* stream = nullptr;         // cudaStream_t
  void* cublas = nullptr;         // cublasHandle_t
  void* cublaslt = nullptr;       // cublasLtHandle_t
  void* workspace = nullptr;      // fixed cuBLAS(Lt)/reduction workspace
  size_t workspace_bytes = 0;
  StepScalars* scalars = nullptr; // host memory (CPU) or device memory (CUDA)
  uint64_t seed = 0;              // run seed for every Philox draw
  int n_threads = 1;              // CPU threads for the reference kernels
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual std::string describe() const = 0;  // "cpu (2 threads)" / "cuda: NVIDIA H100 ..."
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr) = 0;
  virtual void upload(void* dst, const void* src, size_t bytes) = 0;    // host -> backend memory
  virtual void download(void* dst, const void* src, size_t bytes) = 0;  // backend -> host, waits
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;      // within backend memory
  virtual void fill_zero(void* dst, size_t bytes) = 0;
  virtual void synchronize() = 0;
  // Host view of the step scalars: read() waits for the device, write() uploads (outside a step).
  virtual StepScalars read_scalars() = 0;
  virtual void write_scalars(const StepScalars& s) = 0;
  ExecContext& ctx() { return m_ctx; }
  const ExecContext& ctx() const { return m_ctx; }

 protected:
  ExecContext m_ctx;
};

bool cuda_device_available(std::string* why_not = nullptr);
// choice: "cpu", "cuda" or "auto" (CUDA when a device is present). `message` says what was picked.
// n_threads: CPU threads when the choice lands on the CPU (0: all cores).
std::unique_ptr<Backend> make_backend(const std::string& choice, uint64_t seed, std::string* message = nullptr,
                                      int n_threads = 0);
std::unique_ptr<Backend> make_cpu_backend(uint64_t seed, int n_threads = 0);
// Which OpenBLAS kernels the CPU backend's matrix products run ("OpenBLAS Haswell kernels, OpenMP build").
std::string cpu_blas_description();
// The instruction set the host code was compiled for ("AVX-512", "AVX2", "AVX", "SSE2", "generic").
const char* compiled_isa();
std::unique_ptr<Backend> make_cuda_backend(uint64_t seed, int device_index = 0);

// Owning buffer in a backend's memory (RAII); used by arenas and data loaders, never per step.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& b, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* data() const { return m_ptr; }
  size_t size() const { return m_bytes; }

 private:
  Backend* m_backend = nullptr;
  void* m_ptr = nullptr;
  size_t m_bytes = 0;
};

}  // namespace cuvi
