// CUDA launchers for the row, column and whole-tensor reductions and the row softmax family, fp32.
// Same contract as kernels/cpu/reduce.h; device pointers, row-major. Deterministic: fixed-shape tree
// reductions, no atomics. dy arguments are never null (the op adapters handle a missing gradient).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

// Scratch that sum_all needs for inputs above kSumAllOneBlock elements (one float per partial).
constexpr int64_t kSumAllOneBlock = 32768;
constexpr int64_t kSumAllMaxPartials = 512;
constexpr size_t kSumAllScratchBytes = kSumAllMaxPartials * sizeof(float);

// y[n] (+)= alpha * sum_f x[n, f] * w[n, f]
void sum_rows(cudaStream_t s,
              const float* x,  // (N, F)
              const float* w,  // (N, F) or null (1)
              float* y,        // (N)
              float alpha, bool accumulate, int64_t N, int64_t F);

// y[f] (+)= alpha * sum_n x[n, f] * w[n, f]
void sum_cols(cudaStream_t s,
              const float* x,  // (N, F)
              const float* w,  // (N, F) or null (1)
              float* y,        // (F)
              float alpha, bool accumulate, int64_t N, int64_t F);

// y[0] (+)= alpha * sum_i x[i] * w[i]; scratch: kSumAllScratchBytes of device memory (workspace).
void sum_all(cudaStream_t s,
             const float* x,  // (n)
             const float* w,  // (n) or null (1)
             float* y,        // (1)
             float alpha, bool accumulate, int64_t n, float* scratch);

// dx[n, f] (+)= alpha * dy[n]
void sum_rows_bwd(cudaStream_t s, const float* dy /*(N)*/, float* dx /*(N, F)*/, float alpha, bool accumulate,
                  int64_t N, int64_t F);
// dx[n, f] (+)= dy[f]
void sum_cols_bwd(cudaStream_t s, const float* dy /*(F)*/, float* dx /*(N, F)*/, bool accumulate, int64_t N,
                  int64_t F);
// dx[i] (+)= alpha * dy[0]
void sum_all_bwd(cudaStream_t s, const float* dy /*(1)*/, float* dx /*(n)*/, float alpha, bool accumulate,
                 int64_t n);

// y[n] = log sum_f exp(x[n, f]) (torch's infinite-max handling)
void logsumexp_rows(cudaStream_t s, const float* x /*(N, F)*/, float* y /*(N)*/, int64_t N, int64_t F);
// dx (+)= dy[n] * exp(x - y[n])
void logsumexp_rows_bwd(cudaStream_t s, const float* x /*(N, F)*/, const float* y /*(N)*/, const float* dy /*(N)*/,
                        float* dx /*(N, F)*/, bool accumulate, int64_t N, int64_t F);

// Max-shifted softmax of each row; with a mask (entries != 0 take part) masked entries and fully
// masked rows are 0.
void softmax_rows(cudaStream_t s, const float* x /*(N, F)*/, const float* mask /*(N, F) or null*/,
                  float* y /*(N, F)*/, int64_t N, int64_t F);
// dx (+)= y * (dy - sum_f dy * y)
void softmax_rows_bwd(cudaStream_t s, const float* y /*(N, F)*/, const float* dy /*(N, F)*/, float* dx /*(N, F)*/,
                      bool accumulate, int64_t N, int64_t F);

// y = (x - max) - log sum exp(x - max)
void log_softmax_rows(cudaStream_t s, const float* x /*(N, F)*/, float* y /*(N, F)*/, int64_t N, int64_t F);
// dx (+)= dy - exp(y) * sum_f dy
void log_softmax_rows_bwd(cudaStream_t s, const float* y /*(N, F)*/, const float* dy /*(N, F)*/,
                          float* dx /*(N, F)*/, bool accumulate, int64_t N, int64_t F);

}  // namespace cuvi::cuda
