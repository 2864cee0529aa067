// Error checks for CUDA launchers (host side): throw std::runtime_error with the call site.
// kernels/ includes nothing of cuvi; the engine turns these into cuvi::Error messages.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace cuvi::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}
inline void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLAS error in ") + what + ": status " + std::to_string(int(s)));
}
// The backend binds its cuBLAS handle to its stream once and then sets the workspace (cublasSetStream resets the
// workspace to cuBLAS's pool, which a graph capture must not use), so launchers only check the binding.
inline void expect_stream(cublasHandle_t h, cudaStream_t s) {
  cudaStream_t bound = nullptr;
  check(cublasGetStream(h, &bound), "cublasGetStream");
  if (bound != s)
    throw std::runtime_error("cuBLAS handle bound to another stream than the launch's (the backend binds it once)");
}
// After a kernel launch: catches bad launch configurations without synchronising.
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

inline unsigned grid_for(long long n, int threads, unsigned cap = 65535u * 16u) {
  long long g = (n + threads - 1) / threads;
  if (g < 1) g = 1;
  return static_cast<unsigned>(g > cap ? cap : g);
}

}  // namespace cuvi::cuda
