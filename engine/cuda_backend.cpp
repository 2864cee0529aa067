// CUDA backend: one stream, cuBLAS + cuBLASLt handles with a fixed workspace, device step scalars.
// Everything is created once; nothing here runs inside a training step.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>

#include "engine/backend.h"

namespace cuvi {
namespace {

void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}
void cublas_ok(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail(std::string("cuBLAS error in ") + what + ": status " + std::to_string(s));
}

class CudaBackend final : public Backend {
 public:
  static constexpr size_t kWorkspace = 32u << 20;

  CudaBackend(uint64_t seed, int device_index) {
    cuda_ok(cudaSetDevice(device_index), "cudaSetDevice");
    cudaDeviceProp prop{};
    cuda_ok(cudaGetDeviceProperties(&prop, device_index), "cudaGetDeviceProperties");
    m_name = prop.name;
    m_sms = prop.multiProcessorCount;
    cudaStream_t stream;
    cuda_ok(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    cublasHandle_t h;
    cublas_ok(cublasCreate(&h), "cublasCreate");
    // Stream first, workspace after, once: cublasSetStream resets the workspace to cuBLAS's pool, which a graph
    // capture must not use. Kernels never rebind the stream (kernels/cuda/check.h, expect_stream), so eager and
    // replayed steps issue the same SGEMMs with the same workspace.
    cublas_ok(cublasSetStream(h, stream), "cublasSetStream");
    cublas_ok(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");  // fp32 is the truth
    cublasLtHandle_t lt;
    cublas_ok(cublasLtCreate(&lt), "cublasLtCreate");
    void* ws = nullptr;
    cuda_ok(cudaMalloc(&ws, kWorkspace), "cudaMalloc(workspace)");
    cublas_ok(cublasSetWorkspace(h, ws, kWorkspace / 2), "cublasSetWorkspace");
    StepScalars* s = nullptr;
    cuda_ok(cudaMalloc(reinterpret_cast<void**>(&s), sizeof(StepScalars)), "cudaMalloc(step scalars)");
    m_ctx.device = Device::CUDA;
    m_ctx.stream = stream;
    m_ctx.cublas = h;
    m_ctx.cublaslt = lt;
    m_ctx.workspace = static_cast<char*>(ws) + kWorkspace / 2;
    m_ctx.workspace_bytes = kWorkspace / 2;
    m_ctx.scalars = s;
    m_ctx.seed = seed;
    write_scalars(StepScalars{});
  }
  ~CudaBackend() override {
    cudaStreamSynchronize(static_cast<cudaStream_t>(m_ctx.stream));
    cublasDestroy(static_cast<cublasHandle_t>(m_ctx.cublas));
    cublasLtDestroy(static_cast<cublasLtHandle_t>(m_ctx.cublaslt));
    cudaFree(static_cast<char*>(m_ctx.workspace) - kWorkspace / 2);
    cudaFree(m_ctx.scalars);
    cudaStreamDestroy(static_cast<cudaStream_t>(m_ctx.stream));
  }
  Device device() const override { return Device::CUDA; }
  std::string describe() const override { return "cuda (" + m_name + ", " + std::to_string(m_sms) + " SMs)"; }
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 256);
    if (e != cudaSuccess)
      fail("out of GPU memory allocating " + std::to_string(bytes) + " bytes: " + cudaGetErrorString(e));
    return p;
  }
  void deallocate(void* ptr) override { cudaFree(ptr); }
  void upload(void* dst, const void* src, size_t bytes) override {
    cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()), "upload");
    cuda_ok(cudaStreamSynchronize(stream()), "upload");
  }
  void download(void* dst, const void* src, size_t bytes) override {
    cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()), "download");
    cuda_ok(cudaStreamSynchronize(stream()), "download");
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()), "copy");
  }
  void fill_zero(void* dst, size_t bytes) override { cuda_ok(cudaMemsetAsync(dst, 0, bytes, stream()), "memset"); }
  void synchronize() override { cuda_ok(cudaStreamSynchronize(stream()), "synchronize"); }
  StepScalars read_scalars() override {
    StepScalars s;
    download(&s, m_ctx.scalars, sizeof(s));
    return s;
  }
  void write_scalars(const StepScalars& s) override { upload(m_ctx.scalars, &s, sizeof(s)); }

 private:
  cudaStream_t stream() const { return static_cast<cudaStream_t>(m_ctx.stream); }
  std::string m_name;
  int m_sms = 0;
};

}  // namespace

bool cuda_device_available(std::string* why_not) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (why_not) *why_not = cudaGetErrorString(e);
    cudaGetLastError();
    return false;
  }
  if (n == 0) {
    if (why_not) *why_not = "no CUDA device found";
    return false;
  }
  return true;
}

std::unique_ptr<Backend> make_cuda_backend(uint64_t seed, int device_index) {
  return std::make_unique<CudaBackend>(seed, device_index);
}

}  // namespace cuvi
