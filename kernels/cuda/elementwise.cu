// CUDA broadcast arithmetic, scale and column copies: 2-D grids (x over columns, y over rows) so no
// element needs a 64-bit division. Gradients of a broadcast b reuse the deterministic reductions of reduce.cu.
#include "kernels/cuda/check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/reduce.h"

namespace cuvi::cuda {
namespace {

constexpr int kThreads = 256;

dim3 grid_2d(int64_t N, int64_t F) {
  const int64_t gx = (F + kThreads - 1) / kThreads;
  return dim3(unsigned(gx < 65535 ? gx : 65535), unsigned(N < 65535 ? N : 65535));
}

#define CUVI_FOR_ROWS_COLS(N, F)                                                  \
  for (int64_t n = blockIdx.y; n < (N); n += gridDim.y)                           \
    for (int64_t f = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; f < (F);   \
         f += int64_t(gridDim.x) * blockDim.x)

__global__ void add_bcast_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y,
                                 float alpha, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs) {
  CUVI_FOR_ROWS_COLS(N, F) y[n * F + f] = a[n * F + f] + alpha * b[n * b_rs + f * b_cs];
}

__global__ void mul_bcast_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y,
                                 int64_t N, int64_t F, int64_t b_rs, int64_t b_cs) {
  CUVI_FOR_ROWS_COLS(N, F) y[n * F + f] = a[n * F + f] * b[n * b_rs + f * b_cs];
}

// da (+)= dy * b (b null: 1)
__global__ void grad_a_kernel(const float* __restrict__ dy, const float* __restrict__ b, float* __restrict__ da,
                              bool acc, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs) {
  CUVI_FOR_ROWS_COLS(N, F) {
    const int64_t i = n * F + f;
    const float v = b ? dy[i] * b[n * b_rs + f * b_cs] : dy[i];
    da[i] = acc ? da[i] + v : v;
  }
}

// db (+)= alpha * dy * a elementwise (b of shape (N, F); a null: 1)
__global__ void grad_b_full_kernel(const float* __restrict__ dy, const float* __restrict__ a, float* __restrict__ db,
                                   float alpha, bool acc, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = a ? alpha * dy[i] * a[i] : alpha * dy[i];
    db[i] = acc ? db[i] + v : v;
  }
}

__global__ void scale_kernel(const float* __restrict__ x, float* __restrict__ y, double f0,
                             const double* __restrict__ kl_weight, bool acc, int64_t n) {
  const float c = static_cast<float>(kl_weight ? f0 * *kl_weight : f0);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = acc ? y[i] + c * x[i] : c * x[i];
}

__global__ void copy_cols_kernel(const float* __restrict__ src, int64_t src_ld, int64_t src_col0,
                                 float* __restrict__ dst, int64_t dst_ld, int64_t dst_col0, int64_t N, int64_t W,
                                 bool acc) {
  CUVI_FOR_ROWS_COLS(N, W) {
    const float v = src[n * src_ld + src_col0 + f];
    float* d = dst + n * dst_ld + dst_col0 + f;
    *d = acc ? *d + v : v;
  }
}

// Writes every element of dx: the slice from dy, the rest 0 (or unchanged when accumulating).
__global__ void slice_cols_bwd_kernel(const float* __restrict__ dy, float* __restrict__ dx, int64_t start,
                                      int64_t len, bool acc, int64_t N, int64_t F) {
  CUVI_FOR_ROWS_COLS(N, F) {
    const int64_t j = f - start;
    const float v = (j >= 0 && j < len) ? dy[n * len + j] : 0.f;
    const int64_t i = n * F + f;
    dx[i] = acc ? dx[i] + v : v;
  }
}

#undef CUVI_FOR_ROWS_COLS

// db (+)= alpha * (dy * w) summed over the broadcast axes of b.
void reduce_to_bcast(cudaStream_t s, const float* dy, const float* w, float* db, float alpha, bool acc, int64_t N,
                     int64_t F, int64_t b_rs, int64_t b_cs, float* scratch) {
  if (b_rs && b_cs) {
    grad_b_full_kernel<<<grid_for(N * F, kThreads), kThreads, 0, s>>>(dy, w, db, alpha, acc, N * F);
    check_launch("broadcast gradient of b");
  } else if (b_cs) {
    sum_cols(s, dy, w, db, alpha, acc, N, F);
  } else if (b_rs) {
    sum_rows(s, dy, w, db, alpha, acc, N, F);
  } else {
    sum_all(s, dy, w, db, alpha, acc, N * F, scratch);
  }
}

}  // namespace

void add_bcast(cudaStream_t s, const float* a, const float* b, float* y, float alpha, int64_t N, int64_t F,
               int64_t b_rs, int64_t b_cs) {
  if (N <= 0 || F <= 0) return;
  add_bcast_kernel<<<grid_2d(N, F), kThreads, 0, s>>>(a, b, y, alpha, N, F, b_rs, b_cs);
  check_launch("add/sub forward");
}

void mul_bcast(cudaStream_t s, const float* a, const float* b, float* y, int64_t N, int64_t F, int64_t b_rs,
               int64_t b_cs) {
  if (N <= 0 || F <= 0) return;
  mul_bcast_kernel<<<grid_2d(N, F), kThreads, 0, s>>>(a, b, y, N, F, b_rs, b_cs);
  check_launch("mul forward");
}

void add_bcast_bwd(cudaStream_t s, const float* dy, float* da, float* db, bool acc_a, bool acc_b, float alpha,
                   int64_t N, int64_t F, int64_t b_rs, int64_t b_cs, float* scratch) {
  if (N <= 0 || F <= 0) return;
  if (da) {
    grad_a_kernel<<<grid_2d(N, F), kThreads, 0, s>>>(dy, nullptr, da, acc_a, N, F, b_rs, b_cs);
    check_launch("add/sub backward (a)");
  }
  if (db) reduce_to_bcast(s, dy, nullptr, db, alpha, acc_b, N, F, b_rs, b_cs, scratch);
}

void mul_bcast_bwd(cudaStream_t s, const float* a, const float* b, const float* dy, float* da, float* db, bool acc_a,
                   bool acc_b, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs, float* scratch) {
  if (N <= 0 || F <= 0) return;
  if (da) {
    grad_a_kernel<<<grid_2d(N, F), kThreads, 0, s>>>(dy, b, da, acc_a, N, F, b_rs, b_cs);
    check_launch("mul backward (a)");
  }
  if (db) reduce_to_bcast(s, dy, a, db, 1.f, acc_b, N, F, b_rs, b_cs, scratch);
}

void scale(cudaStream_t s, const float* x, float* y, double f0, const double* kl_weight, bool accumulate,
           int64_t n) {
  if (n <= 0) return;
  scale_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(x, y, f0, kl_weight, accumulate, n);
  check_launch("scale");
}

void copy_cols(cudaStream_t s, const float* src, int64_t src_ld, int64_t src_col0, float* dst, int64_t dst_ld,
               int64_t dst_col0, int64_t N, int64_t W, bool accumulate) {
  if (N <= 0 || W <= 0) return;
  copy_cols_kernel<<<grid_2d(N, W), kThreads, 0, s>>>(src, src_ld, src_col0, dst, dst_ld, dst_col0, N, W,
                                                      accumulate);
  check_launch("copy_cols");
}

void slice_cols_bwd(cudaStream_t s, const float* dy, float* dx, int64_t start, int64_t len, bool accumulate,
                    int64_t N, int64_t F) {
  if (N <= 0 || F <= 0) return;
  slice_cols_bwd_kernel<<<grid_2d(N, F), kThreads, 0, s>>>(dy, dx, start, len, accumulate, N, F);
  check_launch("slice_cols backward");
}

}  // namespace cuvi::cuda
