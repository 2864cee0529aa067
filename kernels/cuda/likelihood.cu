// CUDA likelihood family: per-row sums (one block per row, double tree reduction), tiled backward with
// broadcast-input partials reduced in tile order (no atomics), and the mixture-of-Gaussians prior.
// Mirrors kernels/cpu/likelihood.h; the element math is kernels/common/likelihood.h in double.
#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/check.h"
#include "kernels/cuda/likelihood.h"

namespace cuvi::cuda {
namespace {

constexpr int kRowThreads = 256;  // forward: threads per row block
constexpr int kColThreads = 128;  // backward: columns per block

__device__ __forceinline__ double arg_at(const LikInputs<float>& in, int i, int64_t n, int64_t j, int64_t C) {
  return in.mode[i] == kLikAbsent ? in.dflt[i] : static_cast<double>(in.p[i][lik_index(in.mode[i], n, j, C)]);
}


__global__ void __launch_bounds__(kRowThreads)
    lik_rows_fwd_kernel(int kind, LikInputs<float> in, double eps, float* __restrict__ ll, int64_t C) {
  __shared__ double sh[kRowThreads];
  const int64_t n = blockIdx.x;
  double s = 0;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x)
    s += lik_eval(kind, arg_at(in, 0, n, j, C), arg_at(in, 1, n, j, C), arg_at(in, 2, n, j, C),
                  arg_at(in, 3, n, j, C), eps, 0u)
             .ll;
  const double total = block_sum(s, sh);
  if (threadIdx.x == 0) ll[n] = static_cast<float>(total);
}

// Grid (tiles, ceil(C / kColThreads)): thread = column j, loops over the R rows of tile blockIdx.x.
__global__ void __launch_bounds__(kColThreads)
    lik_rows_bwd_kernel(int kind, LikInputs<float> in, double eps, const float* __restrict__ dll,
                        LikGrads<float> g, unsigned want, int64_t N, int64_t C, int64_t R) {
  const int64_t j = blockIdx.y * int64_t(blockDim.x) + threadIdx.x;
  if (j >= C) return;
  const int64_t t = blockIdx.x, n0 = t * R, n1 = n0 + R < N ? n0 + R : N;
  double part[4] = {0, 0, 0, 0};
  for (int64_t n = n0; n < n1; ++n) {
    LikOut o{0, {0, 0, 0, 0}};
    const double w = dll ? static_cast<double>(dll[n]) : 0.0;
    if (dll)
      o = lik_eval(kind, arg_at(in, 0, n, j, C), arg_at(in, 1, n, j, C), arg_at(in, 2, n, j, C),
                   arg_at(in, 3, n, j, C), eps, want);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      if (!(want >> i & 1u)) continue;
      const double v = dll ? w * o.d[i] : 0.0;
      if (in.mode[i] == kLikFull) {
        float* dst = g.d[i] + n * C + j;
        *dst = static_cast<float>(g.acc[i] ? static_cast<double>(*dst) + v : v);
      } else {
        part[i] += v;
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
    if ((want >> i & 1u) && in.mode[i] != kLikFull) g.partial[i][t * C + j] = part[i];
}

// Row-broadcast gradient: d[j] (+)= sum over tiles of partial[t, j], in tile order.
__global__ void reduce_cols_kernel(const double* __restrict__ partial, float* __restrict__ d, bool accumulate,
                                   int64_t tiles, int64_t C) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= C) return;
  double s = accumulate ? static_cast<double>(d[j]) : 0.0;
  for (int64_t t = 0; t < tiles; ++t) s += partial[t * C + j];
  d[j] = static_cast<float>(s);
}

// Scalar gradient: d[0] (+)= sum of all partials, one block, fixed-order tree.
__global__ void __launch_bounds__(kRowThreads)
    reduce_all_kernel(const double* __restrict__ partial, float* __restrict__ d, bool accumulate, int64_t count) {
  __shared__ double sh[kRowThreads];
  double s = 0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
  const double total = block_sum(s, sh);
  if (threadIdx.x == 0) d[0] = static_cast<float>(accumulate ? static_cast<double>(d[0]) + total : total);
}

void reduce_partials(cudaStream_t s, const double* partial, float* d, bool accumulate, int mode, int64_t tiles,
                     int64_t C) {
  if (mode == kLikRow) {
    reduce_cols_kernel<<<grid_for(C, kColThreads), kColThreads, 0, s>>>(partial, d, accumulate, tiles, C);
  } else {
    reduce_all_kernel<<<1, kRowThreads, 0, s>>>(partial, d, accumulate, tiles * C);
  }
  check_launch("likelihood gradient reduction");
}

// ---------------------------------------------------------------------------------------------------
// Mixture of Gaussians. Shared memory per block: lp[K], pik[K], two scalars (double).

// Fills lp[k] (log weight + component log-density) and pik[k] (mixture weights) for row n and returns
// logsumexp_k lp[k] to every thread. Same operation order as cpu::mog_row.
__device__ double mog_row_block(const float* u, const float* logits, bool logits_rows, const float* means,
                                const float* log_scales, int64_t n, int64_t K, int64_t D, double* lp, double* pik,
                                double* scal) {
  const float* a = logits + (logits_rows ? n * K : 0);
  if (threadIdx.x == 0) {
    double amax = -INFINITY;
    for (int64_t k = 0; k < K; ++k) amax = static_cast<double>(a[k]) > amax ? static_cast<double>(a[k]) : amax;
    double as = 0;
    for (int64_t k = 0; k < K; ++k) as += exp(static_cast<double>(a[k]) - amax);
    scal[0] = amax == -INFINITY ? -INFINITY : amax + log(as);
  }
  __syncthreads();
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
    const double la = static_cast<double>(a[k]) - scal[0];
    pik[k] = exp(la);
    double acc = la;
    for (int64_t d = 0; d < D; ++d) {
      const double ls = static_cast<double>(log_scales[k * D + d]);
      const double z = (static_cast<double>(u[n * D + d]) - static_cast<double>(means[k * D + d])) * exp(-ls);
      acc += -0.5 * z * z - ls - kLogSqrt2Pi;
    }
    lp[k] = acc;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double m = -INFINITY;
    bool nan = false;
    for (int64_t k = 0; k < K; ++k) {
      nan = nan || lik_isnan(lp[k]);
      m = lp[k] > m ? lp[k] : m;
    }
    double r = nan ? NAN : -INFINITY;
    if (!nan && m != -INFINITY) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += exp(lp[k] - m);
      r = m + log(s);
    }
    scal[1] = r;
  }
  __syncthreads();
  return scal[1];
}

constexpr int kMogThreads = 128;

__global__ void __launch_bounds__(kMogThreads)
    mog_fwd_kernel(const float* __restrict__ u, const float* __restrict__ logits, bool logits_rows,
                   const float* __restrict__ means, const float* __restrict__ log_scales, float* __restrict__ ll,
                   int64_t K, int64_t D) {
  extern __shared__ double sh[];
  double *lp = sh, *pik = sh + K, *scal = sh + 2 * K;
  const double r = mog_row_block(u, logits, logits_rows, means, log_scales, blockIdx.x, K, D, lp, pik, scal);
  if (threadIdx.x == 0) ll[blockIdx.x] = static_cast<float>(r);
}

// One block per tile of R rows; the thread that owns (k, d) (or k) accumulates its partial in order.
__global__ void __launch_bounds__(kMogThreads)
    mog_bwd_kernel(const float* __restrict__ u, const float* __restrict__ logits, bool logits_rows,
                   const float* __restrict__ means, const float* __restrict__ log_scales,
                   const float* __restrict__ dll, float* du, float* dlogits, bool acc_u, bool acc_logits,
                   bool want_means, bool want_log_scales, double* p_logits, double* p_means, double* p_log_scales,
                   int64_t N, int64_t K, int64_t D, int64_t R) {
  extern __shared__ double sh[];
  double *lp = sh, *pik = sh + K, *scal = sh + 2 * K;
  const int64_t KD = K * D, t = blockIdx.x, n0 = t * R, n1 = n0 + R < N ? n0 + R : N;
  for (int64_t i = threadIdx.x; i < KD; i += blockDim.x) {
    if (want_means) p_means[t * KD + i] = 0;
    if (want_log_scales) p_log_scales[t * KD + i] = 0;
  }
  if (dlogits && !logits_rows)
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) p_logits[t * K + k] = 0;
  for (int64_t n = n0; n < n1; ++n) {
    if (!dll) {
      for (int64_t d = threadIdx.x; d < D; d += blockDim.x)
        if (du && !acc_u) du[n * D + d] = 0.f;
      if (dlogits && logits_rows && !acc_logits)
        for (int64_t k = threadIdx.x; k < K; k += blockDim.x) dlogits[n * K + k] = 0.f;
      continue;
    }
    const double g = static_cast<double>(dll[n]);
    const double l = mog_row_block(u, logits, logits_rows, means, log_scales, n, K, D, lp, pik, scal);
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) lp[k] = exp(lp[k] - l);  // responsibilities
    __syncthreads();
    for (int64_t i = threadIdx.x; i < KD; i += blockDim.x) {
      const int64_t k = i / D, d = i - k * D;
      const double ls = static_cast<double>(log_scales[i]), inv_s = exp(-ls);
      const double z = (static_cast<double>(u[n * D + d]) - static_cast<double>(means[i])) * inv_s;
      const double wk = g * lp[k];
      if (want_means) p_means[t * KD + i] += wk * z * inv_s;
      if (want_log_scales) p_log_scales[t * KD + i] += wk * (z * z - 1.0);
    }
    if (du)
      for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        double su = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double ls = static_cast<double>(log_scales[k * D + d]), inv_s = exp(-ls);
          const double z = (static_cast<double>(u[n * D + d]) - static_cast<double>(means[k * D + d])) * inv_s;
          su -= g * lp[k] * z * inv_s;
        }
        float* dst = du + n * D + d;
        *dst = static_cast<float>(acc_u ? static_cast<double>(*dst) + su : su);
      }
    if (dlogits)
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
        const double v = g * (lp[k] - pik[k]);
        if (logits_rows) {
          float* dst = dlogits + n * K + k;
          *dst = static_cast<float>(acc_logits ? static_cast<double>(*dst) + v : v);
        } else {
          p_logits[t * K + k] += v;
        }
      }
    __syncthreads();  // lp, pik and scal are rewritten for the next row
  }
}

}  // namespace

void lik_rows_fwd(cudaStream_t s, int kind, const LikInputs<float>& in, double eps, float* ll, int64_t N,
                  int64_t C) {
  if (N <= 0) return;
  lik_rows_fwd_kernel<<<static_cast<unsigned>(N), kRowThreads, 0, s>>>(kind, in, eps, ll, C);
  check_launch("likelihood forward");
}

void lik_rows_bwd(cudaStream_t s, int kind, const LikInputs<float>& in, double eps, const float* dll,
                  const LikGrads<float>& g, int64_t N, int64_t C) {
  unsigned want = 0;
  for (int i = 0; i < 4; ++i)
    if (g.d[i] && in.mode[i] != kLikAbsent) want |= 1u << i;
  if (!want) return;
  const int64_t R = lik_rows_per_tile(N, C), tiles = lik_tiles(N, C);
  check(C / kColThreads < 65535 ? cudaSuccess : cudaErrorInvalidConfiguration, "likelihood backward (too many columns)");
  if (tiles > 0 && C > 0) {
    const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>((C + kColThreads - 1) / kColThreads));
    lik_rows_bwd_kernel<<<grid, kColThreads, 0, s>>>(kind, in, eps, dll, g, want, N, C, R);
    check_launch("likelihood backward");
  }
  for (int i = 0; i < 4; ++i)
    if ((want >> i & 1u) && in.mode[i] != kLikFull) reduce_partials(s, g.partial[i], g.d[i], g.acc[i], in.mode[i], tiles, C);
}

void mog_fwd(cudaStream_t s, const float* u, const float* logits, bool logits_rows, const float* means,
             const float* log_scales, float* ll, int64_t N, int64_t K, int64_t D) {
  if (N <= 0) return;
  const size_t shmem = (2 * K + 2) * sizeof(double);
  mog_fwd_kernel<<<static_cast<unsigned>(N), kMogThreads, shmem, s>>>(u, logits, logits_rows, means, log_scales,
                                                                      ll, K, D);
  check_launch("mixture-of-Gaussians forward");
}

void mog_bwd(cudaStream_t s, const float* u, const float* logits, bool logits_rows, const float* means,
             const float* log_scales, const float* dll, float* du, float* dlogits, float* dmeans, float* dlog_scales,
             bool acc_u, bool acc_logits, bool acc_means, bool acc_log_scales, double* p_logits, double* p_means,
             double* p_log_scales, int64_t N, int64_t K, int64_t D) {
  const int64_t KD = K * D, R = lik_rows_per_tile(N, KD), tiles = lik_tiles(N, KD);
  if (tiles > 0) {
    const size_t shmem = (2 * K + 2) * sizeof(double);
    mog_bwd_kernel<<<static_cast<unsigned>(tiles), kMogThreads, shmem, s>>>(
        u, logits, logits_rows, means, log_scales, dll, du, dlogits, acc_u, acc_logits, dmeans != nullptr,
        dlog_scales != nullptr, p_logits, p_means, p_log_scales, N, K, D, R);
    check_launch("mixture-of-Gaussians backward");
  }
  if (dmeans) reduce_partials(s, p_means, dmeans, acc_means, kLikRow, tiles, KD);
  if (dlog_scales) reduce_partials(s, p_log_scales, dlog_scales, acc_log_scales, kLikRow, tiles, KD);
  if (dlogits && !logits_rows) reduce_partials(s, p_logits, dlogits, acc_logits, kLikRow, tiles, K);
}

}  // namespace cuvi::cuda
