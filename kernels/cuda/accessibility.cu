// CUDA accessibility reconstruction: one block per cell (forward sum and the cell-factor gradient, fixed
// tree order), one thread per region for the region-factor gradient (rows in order).
#include <cmath>

#include "kernels/cuda/accessibility.h"
#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/check.h"

namespace cuvi::cuda {
namespace {

constexpr int kThreads = 256;

constexpr double kLogClamp = 3.7200759760208361e-44;  // log(v) < -100 exactly when v < e^-100

struct Term {
  float s;
  double q;
};

__device__ __forceinline__ float sigmoidf_(float z) { return z >= 0.f ? 1.f / (1.f + expf(-z)) : expf(z) / (1.f + expf(z)); }

__device__ __forceinline__ Term term(float l, float d, float a) {
  Term e;
  e.s = sigmoidf_(l);
  e.q = static_cast<double>((e.s * d) * a);
  return e;
}

// BCE log-likelihood with torch's -100 clamp, and its slope (0 where clamped).
__device__ __forceinline__ double ll_of(bool t, double q) {
  const double lv = log(t ? q : 1.0 - q);
  return lv < -100.0 ? -100.0 : lv;
}
__device__ __forceinline__ double dq_of(bool t, double q) {
  const double v = t ? q : 1.0 - q;
  const double g = v < kLogClamp ? 0.0 : 1.0 / v;
  return t ? g : -g;
}

__device__ __forceinline__ float region(const float* f, int64_t r) { return f ? sigmoidf_(f[r]) : 1.f; }


__global__ void __launch_bounds__(kThreads)
    fwd_kernel(const float* __restrict__ x, const float* __restrict__ logits, const float* __restrict__ d,
               const float* __restrict__ f, float* __restrict__ ll, int64_t R) {
  __shared__ double sh[kThreads];
  const int64_t n = blockIdx.x;
  double s = 0;
  for (int64_t r = threadIdx.x; r < R; r += blockDim.x)
    s += ll_of(x[n * R + r] > 0.f, term(logits[n * R + r], d[n], region(f, r)).q);
  const double total = block_sum(s, sh);
  if (threadIdx.x == 0) ll[n] = static_cast<float>(total);
}

__global__ void __launch_bounds__(kThreads)
    bwd_rows_kernel(const float* __restrict__ x, const float* __restrict__ logits, const float* __restrict__ d,
                    const float* __restrict__ f, const float* __restrict__ dll, float* __restrict__ dlogits,
                    float* __restrict__ dd, bool acc_l, bool acc_d, int64_t R) {
  __shared__ double sh[kThreads];
  const int64_t n = blockIdx.x;
  const double g = static_cast<double>(dll[n]);
  double sd = 0;
  for (int64_t r = threadIdx.x; r < R; r += blockDim.x) {
    const float a = region(f, r);
    const Term e = term(logits[n * R + r], d[n], a);
    const double s = static_cast<double>(e.s), gq = g * dq_of(x[n * R + r] > 0.f, e.q);
    if (dlogits) {
      const float v = static_cast<float>(gq * static_cast<double>(d[n]) * static_cast<double>(a) * s * (1.0 - s));
      float* dst = dlogits + n * R + r;
      *dst = acc_l ? *dst + v : v;
    }
    sd += gq * s * static_cast<double>(a);
  }
  if (!dd) return;
  const double total = block_sum(sd, sh);
  if (threadIdx.x == 0) dd[n] = static_cast<float>(acc_d ? static_cast<double>(dd[n]) + total : total);
}

__global__ void bwd_regions_kernel(const float* __restrict__ x, const float* __restrict__ logits,
                                   const float* __restrict__ d, const float* __restrict__ f,
                                   const float* __restrict__ dll, float* __restrict__ df, bool acc_f, int64_t N,
                                   int64_t R) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < R; r += int64_t(gridDim.x) * blockDim.x) {
    const float a = region(f, r);
    const double ad = static_cast<double>(a);
    double acc = 0;
    for (int64_t n = 0; n < N; ++n) {
      const Term e = term(logits[n * R + r], d[n], a);
      acc += static_cast<double>(dll[n]) * dq_of(x[n * R + r] > 0.f, e.q) * static_cast<double>(e.s) *
             static_cast<double>(d[n]) * ad * (1.0 - ad);
    }
    df[r] = static_cast<float>(acc_f ? static_cast<double>(df[r]) + acc : acc);
  }
}

}  // namespace

void accessibility_fwd(cudaStream_t s, const float* x, const float* logits, const float* d, const float* f, float* ll,
                       int64_t N, int64_t R) {
  if (N == 0) return;
  fwd_kernel<<<unsigned(N), kThreads, 0, s>>>(x, logits, d, f, ll, R);
  check_launch("accessibility_fwd");
}

void accessibility_bwd(cudaStream_t s, const float* x, const float* logits, const float* d, const float* f,
                       const float* dll, float* dlogits, float* dd, float* df, bool acc_l, bool acc_d, bool acc_f,
                       int64_t N, int64_t R) {
  if (N == 0) return;
  if (dlogits || dd) {
    bwd_rows_kernel<<<unsigned(N), kThreads, 0, s>>>(x, logits, d, f, dll, dlogits, dd, acc_l, acc_d, R);
    check_launch("accessibility_bwd (rows)");
  }
  if (df) {
    bwd_regions_kernel<<<grid_for(R, kThreads), kThreads, 0, s>>>(x, logits, d, f, dll, df, acc_f, N, R);
    check_launch("accessibility_bwd (regions)");
  }
}

}  // namespace cuvi::cuda
