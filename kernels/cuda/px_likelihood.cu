// CUDA twin of the fused likelihood tail px_log_prob (kernels/cpu/px_likelihood.h): per row one block
// computes softmax -> px_rate -> NB/ZINB log-prob and every gradient in fp32 (likelihood_f32.h), with the
// decoder heads' per-gene biases added on the fly; the backward is one launch that scales the saved
// gradients and sums the per-gene ones (px_r of shape (G), the biases). Fixed-order float reductions, no atomics.
#include "kernels/common/likelihood_f32.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/px_likelihood.h"

namespace cuvi::cuda {
namespace {

// Forward: one block per row, 256 threads, or 1024 where genes are many (few rows then fill the device).
constexpr int kRowThreads = 1024;  // the largest block; shared arrays sized for it
constexpr int kWideGenes = 4096;
constexpr int kBwdCols = 32;  // backward: columns per block (one warp wide) ...
constexpr int kBwdRows = 8;   // ... times row groups, whose per-gene partial sums finish in a tree

// (max, sum of exp(v - max)) pairs, merged without NaN from empty parts (sum 0).
__device__ __forceinline__ void merge_max_sum(float& m, float& s, float m2, float s2) {
  if (s2 == 0.0f) return;
  if (s == 0.0f) {
    m = m2;
    s = s2;
    return;
  }
  if (m2 > m) {
    s = s * expf(m - m2) + s2;
    m = m2;
  } else {
    s = s + s2 * expf(m2 - m);
  }
}

__global__ void __launch_bounds__(kRowThreads)
    px_fwd_kernel(const float* __restrict__ x, const float* __restrict__ logits, const float* __restrict__ library,
                  const float* __restrict__ px_r, bool r_full, const float* __restrict__ pi,
                  const float* __restrict__ b_logits, const float* __restrict__ b_pi, float eps, bool want_grad,
                  float* __restrict__ ll, float* __restrict__ g_logits, float* __restrict__ g_log_theta,
                  float* __restrict__ g_pi, float* __restrict__ g_library, int64_t G) {
  __shared__ float sh_a[kRowThreads];
  __shared__ float sh_b[kRowThreads];
  const int64_t n = blockIdx.x, row = n * G;
  const float* lr = logits + row;
  auto logit = [&](int64_t j) { return b_logits ? lr[j] + b_logits[j] : lr[j]; };
  // Online softmax statistics per thread, then a fixed tree over the block.
  float m = 0.0f, s = 0.0f;
  for (int64_t j = threadIdx.x; j < G; j += blockDim.x) merge_max_sum(m, s, logit(j), 1.0f);
  sh_a[threadIdx.x] = m;
  sh_b[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) {
      float m1 = sh_a[threadIdx.x], s1 = sh_b[threadIdx.x];
      merge_max_sum(m1, s1, sh_a[threadIdx.x + w], sh_b[threadIdx.x + w]);
      sh_a[threadIdx.x] = m1;
      sh_b[threadIdx.x] = s1;
    }
    __syncthreads();
  }
  const float mx = sh_a[0], S = sh_b[0];
  __syncthreads();
  const float lib = expf(library[n]);
  float ll_sum = 0.0f, A = 0.0f;
  for (int64_t j = threadIdx.x; j < G; j += blockDim.x) {
    const float scale = expf(logit(j) - mx) / S;
    const float mu = scale * lib;
    const float theta = expf(px_r[r_full ? row + j : j]);
    float e_ll, e_a, e_th;
    if (pi) {
      const LikfZinb z = likf_zinb(x[row + j], mu, theta, b_pi ? pi[row + j] + b_pi[j] : pi[row + j], eps);
      e_ll = z.ll;
      e_a = z.mu_dmu;
      e_th = z.th_dth;
      if (want_grad) g_pi[row + j] = z.d_pi;
    } else {
      const LikfNb z = likf_nb(x[row + j], mu, theta, eps);
      e_ll = z.ll;
      e_a = z.mu_dmu;
      e_th = z.th_dth;
    }
    ll_sum += e_ll;
    A += e_a;
    if (want_grad) {
      g_logits[row + j] = e_a;
      g_log_theta[row + j] = e_th;
    }
  }
  sh_a[threadIdx.x] = ll_sum;
  sh_b[threadIdx.x] = A;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) {
      sh_a[threadIdx.x] += sh_a[threadIdx.x + w];
      sh_b[threadIdx.x] += sh_b[threadIdx.x + w];
    }
    __syncthreads();
  }
  const float A_row = sh_b[0];
  if (threadIdx.x == 0) {
    ll[n] = sh_a[0];
    if (want_grad) g_library[n] = A_row;
  }
  if (!want_grad) return;
  // d ll / d logit_j = a_j - px_scale_j A (the softmax Jacobian); each thread revisits its own columns.
  for (int64_t j = threadIdx.x; j < G; j += blockDim.x) {
    const float scale = expf(logit(j) - mx) / S;
    g_logits[row + j] -= scale * A_row;
  }
}

// Grid ceil(G / kBwdCols): a block is kBwdCols columns x kBwdRows row groups; thread (x, y) takes column
// j = tile + x over rows y, y + kBwdRows, ... (its elementwise gradients and partial per-gene sums), and the
// per-gene sums (px_r of shape (G), the two biases) finish in a fixed tree over y. Block 0 also writes d_library.
__global__ void __launch_bounds__(kBwdCols* kBwdRows)
    px_bwd_kernel(const float* __restrict__ dll, const float* __restrict__ g_logits,
                  const float* __restrict__ g_log_theta, const float* __restrict__ g_pi,
                  const float* __restrict__ g_library, bool r_full, PxGrads d, int64_t N, int64_t G) {
  __shared__ float part[3][kBwdRows][kBwdCols + 1];  // px_r, logits bias, pi bias
  float *d_logits = d.logits, *d_library = d.library, *d_px_r = d.px_r, *d_pi = d.pi;
  const bool acc_logits = d.acc_logits, acc_library = d.acc_library, acc_r = d.acc_r, acc_pi = d.acc_pi;
  const int tx = threadIdx.x, ty = threadIdx.y;
  if (blockIdx.x == 0 && d_library)
    for (int64_t n = ty * kBwdCols + tx; n < N; n += kBwdCols * kBwdRows) {
      const float v = dll ? dll[n] * g_library[n] : 0.0f;
      d_library[n] = acc_library ? d_library[n] + v : v;
    }
  const int64_t j = blockIdx.x * int64_t(kBwdCols) + tx;
  float col = 0.0f, col_logits = 0.0f, col_pi = 0.0f;
  if (j < G)
    for (int64_t n = ty; n < N; n += kBwdRows) {
      const float w = dll ? dll[n] : 0.0f;
      const int64_t k = n * G + j;
      if (d_logits || d.b_logits) {
        const float v = dll ? w * g_logits[k] : 0.0f;
        if (d_logits) d_logits[k] = acc_logits ? d_logits[k] + v : v;
        col_logits += v;
      }
      if (d_pi || d.b_pi) {
        const float v = dll ? w * g_pi[k] : 0.0f;
        if (d_pi) d_pi[k] = acc_pi ? d_pi[k] + v : v;
        col_pi += v;
      }
      if (d_px_r) {
        const float v = dll ? w * g_log_theta[k] : 0.0f;
        if (r_full)
          d_px_r[k] = acc_r ? d_px_r[k] + v : v;
        else
          col += v;
      }
    }
  const bool col_sums = (d_px_r && !r_full) || d.b_logits || d.b_pi;  // uniform over the block
  if (!col_sums) return;
  part[0][ty][tx] = col;
  part[1][ty][tx] = col_logits;
  part[2][ty][tx] = col_pi;
  __syncthreads();
  for (int h = kBwdRows / 2; h > 0; h >>= 1) {
    if (ty < h)
      for (int q = 0; q < 3; ++q) part[q][ty][tx] += part[q][ty + h][tx];
    __syncthreads();
  }
  if (ty != 0 || j >= G) return;
  if (d_px_r && !r_full) d_px_r[j] = acc_r ? d_px_r[j] + part[0][0][tx] : part[0][0][tx];
  if (d.b_logits) d.b_logits[j] = d.acc_b_logits ? d.b_logits[j] + part[1][0][tx] : part[1][0][tx];
  if (d.b_pi) d.b_pi[j] = d.acc_b_pi ? d.b_pi[j] + part[2][0][tx] : part[2][0][tx];
}

}  // namespace

void px_log_prob_fwd(cudaStream_t s, const float* x, const float* logits, const float* library, const float* px_r,
                     bool r_full, const float* pi, const float* b_logits, const float* b_pi, float eps,
                     bool want_grad, float* ll, float* g_logits, float* g_log_theta, float* g_pi, float* g_library,
                     int64_t N, int64_t G) {
  if (N <= 0) return;
  const int threads = G >= kWideGenes ? kRowThreads : 256;
  px_fwd_kernel<<<static_cast<unsigned>(N), threads, 0, s>>>(x, logits, library, px_r, r_full, pi, b_logits, b_pi,
                                                                eps, want_grad, ll, g_logits, g_log_theta, g_pi,
                                                                g_library, G);
  check_launch("px_log_prob forward");
}

void px_log_prob_bwd(cudaStream_t s, const float* dll, const float* g_logits, const float* g_log_theta,
                     const float* g_pi, const float* g_library, bool r_full, const PxGrads& d, int64_t N, int64_t G) {
  if (N <= 0 || G <= 0 || !(d.logits || d.library || d.px_r || d.pi || d.b_logits || d.b_pi)) return;
  const unsigned blocks = static_cast<unsigned>((G + kBwdCols - 1) / kBwdCols);
  px_bwd_kernel<<<blocks, dim3(kBwdCols, kBwdRows), 0, s>>>(dll, g_logits, g_log_theta, g_pi, g_library, r_full, d, N, G);
  check_launch("px_log_prob backward");
}

}  // namespace cuvi::cuda
