// CUDA multi-head attention with projections (op "mha", spec/mrvi.md §1 AttentionBlock steps 2-3, §6).
// Fused path: one block per batch element in shared memory, forward and backward each one kernel,
// weight gradients as per-block partials plus a fixed-order reduction. General path: cuBLAS + row kernels.
#include <cmath>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/linear.h"

namespace cuvi::cuda {
namespace {

static_assert((kMhaThreads & (kMhaThreads - 1)) == 0, "the partial-sum tree needs a power-of-two block");

// Offsets into the flat parameter vector [Wq | bq | Wk | bk | Wv | bv | Wo | bo] (mha_param_count).
struct ParamLayout {
  int wq, bq, wk, bk, wv, bv, wo, bo, count;
};

ParamLayout param_layout(const MhaDims& s) {
  const int HD = int(s.H * s.Dh);
  ParamLayout L;
  L.wq = 0;
  L.bq = L.wq + int(s.Dq) * HD;
  L.wk = L.bq + HD;
  L.bk = L.wk + int(s.Dkv) * HD;
  L.wv = L.bk + HD;
  L.bv = L.wv + int(s.Dkv) * HD;
  L.wo = L.bv + HD;
  L.bo = L.wo + HD * int(s.Do);
  L.count = L.bo + int(s.Do);
  return L;
}

// Per-element sizes as ints (the fused path only runs where they fit in shared memory) and the scale.
struct KDims {
  int64_t B;
  int Nt, Dq, Dkv, H, Dh, HD, Do;
  float scale;  // 1 / sqrt(Dh)
};

KDims kdims(const MhaDims& s) {
  return {s.B, int(s.Nt), int(s.Dq), int(s.Dkv), int(s.H), int(s.Dh), int(s.H * s.Dh), int(s.Do),
          float(1.0 / std::sqrt(double(s.Dh)))};
}

__device__ __forceinline__ void block_copy(float* dst, const float* __restrict__ src, int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = src[i];
}

// Copies the eight parameter tensors into their slots of the flat vector.
__device__ __forceinline__ void load_params(float* w_s, const MhaWeights& w, const ParamLayout& L) {
  block_copy(w_s + L.wq, w.wq, L.bq - L.wq);
  block_copy(w_s + L.bq, w.bq, L.wk - L.bq);
  block_copy(w_s + L.wk, w.wk, L.bk - L.wk);
  block_copy(w_s + L.bk, w.bk, L.wv - L.bk);
  block_copy(w_s + L.wv, w.wv, L.bv - L.wv);
  block_copy(w_s + L.bv, w.bv, L.wo - L.bv);
  block_copy(w_s + L.wo, w.wo, L.bo - L.wo);
  block_copy(w_s + L.bo, w.bo, L.count - L.bo);
}

// ---------------------------------------------------------------------------------------------
// Fused forward. Shared memory (floats): params | xq (Nt,Dq) | xkv (Nt,Dkv) | qkv (Nt,3HD) |
// a (H,Nt,Nt): logits, then exp, then A = P * keep | rsum (H,Nt) | ctx (Nt,HD).
// Every phase is a block-strided loop over its items, separated by __syncthreads.
__global__ void __launch_bounds__(kMhaThreads)
    mha_fwd_fused_kernel(KDims s, ParamLayout L, MhaWeights w,
                         const float* __restrict__ q_in,   // (B, Nt, Dq)
                         const float* __restrict__ kv_in,  // (B, Nt, Dkv)
                         const float* __restrict__ keep,   // (B, H, Nt, Nt) or null
                         float* __restrict__ y,            // (B, Nt, Do)
                         float* __restrict__ qkv,          // (B, Nt, 3HD)
                         float* __restrict__ probs,        // (B, H, Nt, Nt)
                         float* __restrict__ ctx) {        // (B, Nt, HD)
  extern __shared__ float sm[];
  const int Nt = s.Nt, HD = s.HD, Q3 = 3 * s.HD, Dh = s.Dh, NN = s.Nt * s.Nt, Do = s.Do;
  const int tid = threadIdx.x, nth = blockDim.x;
  float* w_s = sm;
  float* xq_s = w_s + L.count;
  float* xkv_s = xq_s + Nt * s.Dq;
  float* qkv_s = xkv_s + Nt * s.Dkv;
  float* a_s = qkv_s + Nt * Q3;
  float* rsum_s = a_s + s.H * NN;
  float* ctx_s = rsum_s + s.H * Nt;

  load_params(w_s, w, L);
  for (int64_t b = blockIdx.x; b < s.B; b += gridDim.x) {
    block_copy(xq_s, q_in + b * Nt * s.Dq, Nt * s.Dq);
    block_copy(xkv_s, kv_in + b * Nt * s.Dkv, Nt * s.Dkv);
    __syncthreads();
    // Q | K | V = bias + x W (x = query tokens for Q, key/value tokens for K and V).
    for (int e = tid; e < Nt * Q3; e += nth) {
      const int t = e / Q3, r = e - t * Q3, which = r / HD, c = r - which * HD;
      const float* x = which == 0 ? xq_s + t * s.Dq : xkv_s + t * s.Dkv;
      const int K = which == 0 ? s.Dq : s.Dkv;
      const float* W = w_s + (which == 0 ? L.wq : which == 1 ? L.wk : L.wv);
      float v = w_s[(which == 0 ? L.bq : which == 1 ? L.bk : L.bv) + c];
      for (int a = 0; a < K; ++a) v = fmaf(x[a], W[a * HD + c], v);
      qkv_s[e] = v;
      qkv[b * Nt * Q3 + e] = v;
    }
    __syncthreads();
    // Scaled logits, item (h, i, j).
    for (int e = tid; e < s.H * NN; e += nth) {
      const int h = e / NN, ij = e - h * NN, i = ij / Nt, j = ij - i * Nt;
      const float* qi = qkv_s + i * Q3 + h * Dh;
      const float* kj = qkv_s + j * Q3 + HD + h * Dh;
      float dot = 0.f;
      for (int d = 0; d < Dh; ++d) dot = fmaf(qi[d], kj[d], dot);
      a_s[e] = dot * s.scale;
    }
    __syncthreads();
    // Softmax rows (h, i): max shift, exp in place, row sum.
    for (int r = tid; r < s.H * Nt; r += nth) {
      float* row = a_s + r * Nt;
      float m = row[0];
      for (int j = 1; j < Nt; ++j)
        if (row[j] > m) m = row[j];
      float sum = 0.f;
      for (int j = 0; j < Nt; ++j) {
        const float ex = expf(row[j] - m);
        row[j] = ex;
        sum += ex;
      }
      rsum_s[r] = sum;
    }
    __syncthreads();
    // Normalise (coalesced store of P), then apply the dropout multiplier: a_s becomes A.
    const int64_t p0 = b * s.H * NN;
    for (int e = tid; e < s.H * NN; e += nth) {
      const float p = a_s[e] / rsum_s[e / Nt];
      probs[p0 + e] = p;
      a_s[e] = keep ? p * keep[p0 + e] : p;
    }
    __syncthreads();
    // Context, item (i, c) with c = h * Dh + d: heads concatenated head-major.
    for (int e = tid; e < Nt * HD; e += nth) {
      const int i = e / HD, c = e - i * HD, h = c / Dh;
      const float* arow = a_s + (h * Nt + i) * Nt;
      float acc = 0.f;
      for (int j = 0; j < Nt; ++j) acc = fmaf(arow[j], qkv_s[j * Q3 + 2 * HD + c], acc);
      ctx_s[e] = acc;
      ctx[b * Nt * HD + e] = acc;
    }
    __syncthreads();
    // Output projection, item (t, o).
    for (int e = tid; e < Nt * Do; e += nth) {
      const int t = e / Do, o = e - t * Do;
      float acc = w_s[L.bo + o];
      for (int c = 0; c < HD; ++c) acc = fmaf(ctx_s[t * HD + c], w_s[L.wo + c * Do + o], acc);
      y[b * Nt * Do + e] = acc;
    }
    __syncthreads();
  }
}

// This element's contribution to entry p of the flat weight gradient (dbk is identically zero).
__device__ __forceinline__ float weight_grad_term(int p, const KDims& s, const ParamLayout& L, const float* xq_s,
                                                  const float* xkv_s, const float* dqkv_s, const float* ctx_s,
                                                  const float* dy_s) {
  const int Nt = s.Nt, HD = s.HD, Q3 = 3 * s.HD;
  float v = 0.f;
  if (p < L.bq) {  // dWq[a, c] = sum_t xq[t, a] dQ[t, c]
    const int a = p / HD, c = p - a * HD;
    for (int t = 0; t < Nt; ++t) v = fmaf(xq_s[t * s.Dq + a], dqkv_s[t * Q3 + c], v);
  } else if (p < L.wk) {  // dbq[c] = sum_t dQ[t, c]
    const int c = p - L.bq;
    for (int t = 0; t < Nt; ++t) v += dqkv_s[t * Q3 + c];
  } else if (p < L.bk) {  // dWk[a, c] = sum_t xkv[t, a] dK[t, c]
    const int q = p - L.wk, a = q / HD, c = q - a * HD;
    for (int t = 0; t < Nt; ++t) v = fmaf(xkv_s[t * s.Dkv + a], dqkv_s[t * Q3 + HD + c], v);
  } else if (p < L.wv) {  // dbk = 0 (softmax is invariant to the per-row shift q_i . bk)
  } else if (p < L.bv) {  // dWv[a, c] = sum_t xkv[t, a] dV[t, c]
    const int q = p - L.wv, a = q / HD, c = q - a * HD;
    for (int t = 0; t < Nt; ++t) v = fmaf(xkv_s[t * s.Dkv + a], dqkv_s[t * Q3 + 2 * HD + c], v);
  } else if (p < L.wo) {  // dbv[c] = sum_t dV[t, c]
    const int c = p - L.bv;
    for (int t = 0; t < Nt; ++t) v += dqkv_s[t * Q3 + 2 * HD + c];
  } else if (p < L.bo) {  // dWo[c, o] = sum_t ctx[t, c] dy[t, o]
    const int q = p - L.wo, c = q / s.Do, o = q - c * s.Do;
    for (int t = 0; t < Nt; ++t) v = fmaf(ctx_s[t * HD + c], dy_s[t * s.Do + o], v);
  } else {  // dbo[o] = sum_t dy[t, o]
    const int o = p - L.bo;
    for (int t = 0; t < Nt; ++t) v += dy_s[t * s.Do + o];
  }
  return v;
}

// Fused backward. Shared memory (floats): params | acc (params) | xq | xkv | qkv (Nt,3HD) |
// dqkv (Nt,3HD) | p (H,Nt,Nt): P, then A | ds (H,Nt,Nt): dP, then dS | rdot (H,Nt) | ctx (Nt,HD) |
// dctx (Nt,HD) | dy (Nt,Do). acc[p] belongs to thread p % blockDim.x alone (no synchronisation);
// the block writes it to partials[blockIdx.x] at the end.
__global__ void __launch_bounds__(kMhaThreads)
    mha_bwd_fused_kernel(KDims s, ParamLayout L, MhaWeights w,
                         const float* __restrict__ q_in,   // (B, Nt, Dq)
                         const float* __restrict__ kv_in,  // (B, Nt, Dkv)
                         const float* __restrict__ keep,   // (B, H, Nt, Nt) or null
                         const float* __restrict__ qkv,    // (B, Nt, 3HD)
                         const float* __restrict__ probs,  // (B, H, Nt, Nt)
                         const float* __restrict__ ctx,    // (B, Nt, HD)
                         const float* __restrict__ dy,     // (B, Nt, Do)
                         MhaGrads g,
                         float* __restrict__ partials) {   // (gridDim.x, params)
  extern __shared__ float sm[];
  const int Nt = s.Nt, HD = s.HD, Q3 = 3 * s.HD, Dh = s.Dh, NN = s.Nt * s.Nt, Do = s.Do;
  const int tid = threadIdx.x, nth = blockDim.x;
  float* w_s = sm;
  float* acc_s = w_s + L.count;
  float* xq_s = acc_s + L.count;
  float* xkv_s = xq_s + Nt * s.Dq;
  float* qkv_s = xkv_s + Nt * s.Dkv;
  float* dqkv_s = qkv_s + Nt * Q3;
  float* p_s = dqkv_s + Nt * Q3;
  float* ds_s = p_s + s.H * NN;
  float* rdot_s = ds_s + s.H * NN;
  float* ctx_s = rdot_s + s.H * Nt;
  float* dctx_s = ctx_s + Nt * HD;
  float* dy_s = dctx_s + Nt * HD;

  load_params(w_s, w, L);
  for (int p = tid; p < L.count; p += nth) acc_s[p] = 0.f;
  float* d_q_in = g.d[kMhaQIn];
  float* d_kv_in = g.d[kMhaKvIn];
  for (int64_t b = blockIdx.x; b < s.B; b += gridDim.x) {
    const int64_t p0 = b * s.H * NN;
    block_copy(xq_s, q_in + b * Nt * s.Dq, Nt * s.Dq);
    block_copy(xkv_s, kv_in + b * Nt * s.Dkv, Nt * s.Dkv);
    block_copy(qkv_s, qkv + b * Nt * Q3, Nt * Q3);
    block_copy(p_s, probs + p0, s.H * NN);
    block_copy(ctx_s, ctx + b * Nt * HD, Nt * HD);
    block_copy(dy_s, dy + b * Nt * Do, Nt * Do);
    __syncthreads();
    // dctx = dy Wo^T, item (i, c).
    for (int e = tid; e < Nt * HD; e += nth) {
      const int i = e / HD, c = e - i * HD;
      float acc = 0.f;
      for (int o = 0; o < Do; ++o) acc = fmaf(dy_s[i * Do + o], w_s[L.wo + c * Do + o], acc);
      dctx_s[e] = acc;
    }
    __syncthreads();
    // dP = keep * (dctx_h V_h^T), item (h, i, j).
    for (int e = tid; e < s.H * NN; e += nth) {
      const int h = e / NN, ij = e - h * NN, i = ij / Nt, j = ij - i * Nt;
      const float* dci = dctx_s + i * HD + h * Dh;
      const float* vj = qkv_s + j * Q3 + 2 * HD + h * Dh;
      float da = 0.f;
      for (int d = 0; d < Dh; ++d) da = fmaf(dci[d], vj[d], da);
      ds_s[e] = keep ? da * keep[p0 + e] : da;
    }
    __syncthreads();
    // Row dots sum_j P_ij dP_ij, row (h, i).
    for (int r = tid; r < s.H * Nt; r += nth) {
      const float* pr = p_s + r * Nt;
      const float* dpr = ds_s + r * Nt;
      float dot = 0.f;
      for (int j = 0; j < Nt; ++j) dot = fmaf(pr[j], dpr[j], dot);
      rdot_s[r] = dot;
    }
    __syncthreads();
    // dS = scale * P (dP - dot); P is no longer needed, so p_s becomes A = P * keep.
    for (int e = tid; e < s.H * NN; e += nth) {
      const float p = p_s[e];
      ds_s[e] = s.scale * p * (ds_s[e] - rdot_s[e / Nt]);
      p_s[e] = keep ? p * keep[p0 + e] : p;
    }
    __syncthreads();
    // dQ | dK | dV, item (t, which, c) with head h = c / Dh.
    for (int e = tid; e < Nt * Q3; e += nth) {
      const int t = e / Q3, r = e - t * Q3, which = r / HD, c = r - which * HD, h = c / Dh;
      const float* ds_h = ds_s + h * NN;
      float acc = 0.f;
      if (which == 0) {  // dQ[t] = sum_u dS[t, u] K[u]
        for (int u = 0; u < Nt; ++u) acc = fmaf(ds_h[t * Nt + u], qkv_s[u * Q3 + HD + c], acc);
      } else if (which == 1) {  // dK[t] = sum_u dS[u, t] Q[u]
        for (int u = 0; u < Nt; ++u) acc = fmaf(ds_h[u * Nt + t], qkv_s[u * Q3 + c], acc);
      } else {  // dV[t] = sum_u A[u, t] dctx[u]
        const float* a_h = p_s + h * NN;
        for (int u = 0; u < Nt; ++u) acc = fmaf(a_h[u * Nt + t], dctx_s[u * HD + c], acc);
      }
      dqkv_s[e] = acc;
    }
    __syncthreads();
    // Token gradients: d q_in = dQ Wq^T, d kv_in = dK Wk^T + dV Wv^T.
    if (d_q_in)
      for (int e = tid; e < Nt * s.Dq; e += nth) {
        const int t = e / s.Dq, a = e - t * s.Dq;
        float v = 0.f;
        for (int c = 0; c < HD; ++c) v = fmaf(dqkv_s[t * Q3 + c], w_s[L.wq + a * HD + c], v);
        float* dst = d_q_in + b * Nt * s.Dq + e;
        *dst = g.acc[kMhaQIn] ? *dst + v : v;
      }
    if (d_kv_in)
      for (int e = tid; e < Nt * s.Dkv; e += nth) {
        const int t = e / s.Dkv, a = e - t * s.Dkv;
        float v = 0.f;
        for (int c = 0; c < HD; ++c) {
          v = fmaf(dqkv_s[t * Q3 + HD + c], w_s[L.wk + a * HD + c], v);
          v = fmaf(dqkv_s[t * Q3 + 2 * HD + c], w_s[L.wv + a * HD + c], v);
        }
        float* dst = d_kv_in + b * Nt * s.Dkv + e;
        *dst = g.acc[kMhaKvIn] ? *dst + v : v;
      }
    // Weight gradients of this element into the block's accumulators (fixed order over b).
    for (int p = tid; p < L.count; p += nth) acc_s[p] += weight_grad_term(p, s, L, xq_s, xkv_s, dqkv_s, ctx_s, dy_s);
    __syncthreads();
  }
  for (int p = tid; p < L.count; p += nth) partials[int64_t(blockIdx.x) * L.count + p] = acc_s[p];
}

// One block per flat parameter entry p: sums partials[., p] in a fixed order (strided per thread,
// then a shared-memory tree) and writes it to its gradient tensor. blockDim.x == kMhaThreads (2^k).
__global__ void __launch_bounds__(kMhaThreads)
    mha_reduce_partials_kernel(const float* __restrict__ partials,  // (rows, params)
                               int64_t rows, ParamLayout L, MhaGrads g) {
  __shared__ float red[kMhaThreads];
  const int p = blockIdx.x, tid = threadIdx.x;
  float v = 0.f;
  for (int64_t r = tid; r < rows; r += blockDim.x) v += partials[r * L.count + p];
  red[tid] = v;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (tid < stride) red[tid] += red[tid + stride];
    __syncthreads();
  }
  if (tid != 0) return;
  const int start[8] = {L.wq, L.bq, L.wk, L.bk, L.wv, L.bv, L.wo, L.bo};
  int region = 7;
  while (p < start[region]) --region;
  const int k = kMhaWq + region;
  float* dst = g.d[k];
  if (!dst) return;
  const int off = p - start[region];
  dst[off] = g.acc[k] ? dst[off] + red[0] : red[0];
}

// ---------------------------------------------------------------------------------------------
// General path: shapes whose per-element working set exceeds the fused kernels' shared memory.
// Projections and weight gradients are cuBLAS GEMMs; the attention core is one thread per
// (b, h, i) row or per output element, reading global memory. Same arithmetic order as the fused path.

// y[r, col0 + c] += bias[c] for r < rows, c < n; row stride ld.
__global__ void add_bias_kernel(float* __restrict__ y, const float* __restrict__ bias, int64_t rows, int64_t ld,
                                int64_t col0, int64_t n) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < rows * n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = e / n, c = e - r * n;
    y[r * ld + col0 + c] += bias[c];
  }
}

// Softmax of the scaled logits, one thread per row r = (b * H + h) * Nt + i.
__global__ void softmax_rows_general_kernel(KDims s,
                                            const float* __restrict__ qkv,  // (B, Nt, 3HD)
                                            float* __restrict__ probs) {    // (B, H, Nt, Nt)
  const int Nt = s.Nt, HD = s.HD, Q3 = 3 * s.HD, Dh = s.Dh;
  const int64_t rows = s.B * s.H * Nt;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = r / (int64_t(s.H) * Nt);
    const int h = int((r / Nt) % s.H), i = int(r % Nt);
    const float* qi = qkv + (b * Nt + i) * Q3 + h * Dh;
    float* prow = probs + r * Nt;
    float m = 0.f;
    for (int j = 0; j < Nt; ++j) {
      const float* kj = qkv + (b * Nt + j) * Q3 + HD + h * Dh;
      float dot = 0.f;
      for (int d = 0; d < Dh; ++d) dot = fmaf(qi[d], kj[d], dot);
      const float l = dot * s.scale;
      prow[j] = l;
      if (j == 0 || l > m) m = l;
    }
    float sum = 0.f;
    for (int j = 0; j < Nt; ++j) {
      const float ex = expf(prow[j] - m);
      prow[j] = ex;
      sum += ex;
    }
    for (int j = 0; j < Nt; ++j) prow[j] = prow[j] / sum;
  }
}

// ctx[b, i, c] = sum_j A[b, h, i, j] V[b, j, c], one thread per (b, i, c).
__global__ void context_general_kernel(KDims s,
                                       const float* __restrict__ qkv,    // (B, Nt, 3HD)
                                       const float* __restrict__ probs,  // (B, H, Nt, Nt)
                                       const float* __restrict__ keep,   // (B, H, Nt, Nt) or null
                                       float* __restrict__ ctx) {        // (B, Nt, HD)
  const int Nt = s.Nt, HD = s.HD, Q3 = 3 * s.HD;
  const int64_t n = s.B * Nt * HD;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = e / (int64_t(Nt) * HD);
    const int i = int((e / HD) % Nt), c = int(e % HD), h = c / s.Dh;
    const int64_t prow = ((b * s.H + h) * Nt + i) * Nt;
    float acc = 0.f;
    for (int j = 0; j < Nt; ++j) {
      const float p = probs[prow + j];
      const float a = keep ? p * keep[prow + j] : p;
      acc = fmaf(a, qkv[(b * Nt + j) * Q3 + 2 * HD + c], acc);
    }
    ctx[e] = acc;
  }
}

// dS rows: dP_ij = keep_ij (dctx_i . V_j), then dS_ij = scale * P_ij (dP_ij - sum_k P_ik dP_ik).
__global__ void ds_rows_general_kernel(KDims s,
                                       const float* __restrict__ qkv,    // (B, Nt, 3HD)
                                       const float* __restrict__ probs,  // (B, H, Nt, Nt)
                                       const float* __restrict__ keep,   // (B, H, Nt, Nt) or null
                                       const float* __restrict__ dctx,   // (B, Nt, HD)
                                       float* __restrict__ ds) {         // (B, H, Nt, Nt)
  const int Nt = s.Nt, HD = s.HD, Q3 = 3 * s.HD, Dh = s.Dh;
  const int64_t rows = s.B * s.H * Nt;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = r / (int64_t(s.H) * Nt);
    const int h = int((r / Nt) % s.H), i = int(r % Nt);
    const float* dci = dctx + (b * Nt + i) * HD + h * Dh;
    const float* prow = probs + r * Nt;
    float* drow = ds + r * Nt;
    float dot = 0.f;
    for (int j = 0; j < Nt; ++j) {
      const float* vj = qkv + (b * Nt + j) * Q3 + 2 * HD + h * Dh;
      float da = 0.f;
      for (int d = 0; d < Dh; ++d) da = fmaf(dci[d], vj[d], da);
      const float dp = keep ? da * keep[r * Nt + j] : da;
      drow[j] = dp;
      dot = fmaf(prow[j], dp, dot);
    }
    for (int j = 0; j < Nt; ++j) drow[j] = s.scale * prow[j] * (drow[j] - dot);
  }
}

// dQ | dK | dV, one thread per (b, t, which, c).
__global__ void dqkv_general_kernel(KDims s,
                                    const float* __restrict__ qkv,    // (B, Nt, 3HD)
                                    const float* __restrict__ probs,  // (B, H, Nt, Nt)
                                    const float* __restrict__ keep,   // (B, H, Nt, Nt) or null
                                    const float* __restrict__ dctx,   // (B, Nt, HD)
                                    const float* __restrict__ ds,     // (B, H, Nt, Nt)
                                    float* __restrict__ dqkv) {       // (B, Nt, 3HD)
  const int Nt = s.Nt, HD = s.HD, Q3 = 3 * s.HD, NN = s.Nt * s.Nt;
  const int64_t n = s.B * Nt * Q3;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = e / (int64_t(Nt) * Q3);
    const int t = int((e / Q3) % Nt), r = int(e % Q3), which = r / HD, c = r - which * HD, h = c / s.Dh;
    const int64_t h0 = (b * s.H + h) * NN;
    const float* tok = qkv + b * Nt * Q3;
    float acc = 0.f;
    if (which == 0) {
      for (int u = 0; u < Nt; ++u) acc = fmaf(ds[h0 + t * Nt + u], tok[u * Q3 + HD + c], acc);
    } else if (which == 1) {
      for (int u = 0; u < Nt; ++u) acc = fmaf(ds[h0 + u * Nt + t], tok[u * Q3 + c], acc);
    } else {
      for (int u = 0; u < Nt; ++u) {
        const float p = probs[h0 + u * Nt + t];
        const float a = keep ? p * keep[h0 + u * Nt + t] : p;
        acc = fmaf(a, dctx[(b * Nt + u) * HD + c], acc);
      }
    }
    dqkv[e] = acc;
  }
}

// dst[c] (+)= sum_r x[r * ld + c], one thread per column, rows in order.
__global__ void column_sum_kernel(const float* __restrict__ x, int64_t rows, int64_t ld, int64_t n,
                                  float* __restrict__ dst, bool accumulate) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= n) return;
  float v = 0.f;
  for (int64_t r = 0; r < rows; ++r) v += x[r * ld + c];
  dst[c] = accumulate ? dst[c] + v : v;
}

void add_bias(cudaStream_t st, float* y, const float* bias, int64_t rows, int64_t ld, int64_t col0, int64_t n) {
  add_bias_kernel<<<grid_for(rows * n, 256), 256, 0, st>>>(y, bias, rows, ld, col0, n);
  check_launch("mha bias");
}

void column_sum(cudaStream_t st, const float* x, int64_t rows, int64_t ld, int64_t n, float* dst, bool accumulate) {
  if (!dst) return;
  column_sum_kernel<<<grid_for(n, 128), 128, 0, st>>>(x, rows, ld, n, dst, accumulate);
  check_launch("mha column sums");
}

void fwd_general(cublasHandle_t h, cudaStream_t st, const float* q_in, const float* kv_in, const MhaWeights& w,
                 const float* keep, float* y, float* qkv, float* probs, float* ctx, const MhaDims& s) {
  const KDims k = kdims(s);
  const int64_t BT = s.B * s.Nt, HD = s.H * s.Dh, Q3 = 3 * HD;
  expect_stream(h, st);
  gemm_rm(h, false, false, BT, HD, s.Dq, q_in, s.Dq, w.wq, HD, qkv, Q3, false);
  gemm_rm(h, false, false, BT, HD, s.Dkv, kv_in, s.Dkv, w.wk, HD, qkv + HD, Q3, false);
  gemm_rm(h, false, false, BT, HD, s.Dkv, kv_in, s.Dkv, w.wv, HD, qkv + 2 * HD, Q3, false);
  add_bias(st, qkv, w.bq, BT, Q3, 0, HD);
  add_bias(st, qkv, w.bk, BT, Q3, HD, HD);
  add_bias(st, qkv, w.bv, BT, Q3, 2 * HD, HD);
  softmax_rows_general_kernel<<<grid_for(s.B * s.H * s.Nt, 128), 128, 0, st>>>(k, qkv, probs);
  check_launch("mha softmax rows");
  context_general_kernel<<<grid_for(BT * HD, 128), 128, 0, st>>>(k, qkv, probs, keep, ctx);
  check_launch("mha context");
  gemm_rm(h, false, false, BT, s.Do, HD, ctx, HD, w.wo, s.Do, y, s.Do, false);
  add_bias(st, y, w.bo, BT, s.Do, 0, s.Do);
}

void bwd_general(cublasHandle_t h, cudaStream_t st, const float* q_in, const float* kv_in, const MhaWeights& w,
                 const float* keep, const float* qkv, const float* probs, const float* ctx, const float* dy,
                 const MhaGrads& g, float* scratch, const MhaDims& s) {
  const KDims k = kdims(s);
  const int64_t BT = s.B * s.Nt, HD = s.H * s.Dh, Q3 = 3 * HD;
  float* dctx = scratch;         // (B, Nt, HD)
  float* dqkv = dctx + BT * HD;  // (B, Nt, 3HD)
  float* ds = dqkv + BT * Q3;    // (B, H, Nt, Nt)
  expect_stream(h, st);
  gemm_rm(h, false, true, BT, HD, s.Do, dy, s.Do, w.wo, s.Do, dctx, HD, false);
  ds_rows_general_kernel<<<grid_for(s.B * s.H * s.Nt, 128), 128, 0, st>>>(k, qkv, probs, keep, dctx, ds);
  check_launch("mha dS rows");
  dqkv_general_kernel<<<grid_for(BT * Q3, 128), 128, 0, st>>>(k, qkv, probs, keep, dctx, ds, dqkv);
  check_launch("mha dQ dK dV");
  if (float* d = g.d[kMhaQIn]) gemm_rm(h, false, true, BT, s.Dq, HD, dqkv, Q3, w.wq, HD, d, s.Dq, g.acc[kMhaQIn]);
  if (float* d = g.d[kMhaKvIn]) {
    gemm_rm(h, false, true, BT, s.Dkv, HD, dqkv + HD, Q3, w.wk, HD, d, s.Dkv, g.acc[kMhaKvIn]);
    gemm_rm(h, false, true, BT, s.Dkv, HD, dqkv + 2 * HD, Q3, w.wv, HD, d, s.Dkv, true);
  }
  if (float* d = g.d[kMhaWq]) gemm_rm(h, true, false, s.Dq, HD, BT, q_in, s.Dq, dqkv, Q3, d, HD, g.acc[kMhaWq]);
  if (float* d = g.d[kMhaWk]) gemm_rm(h, true, false, s.Dkv, HD, BT, kv_in, s.Dkv, dqkv + HD, Q3, d, HD, g.acc[kMhaWk]);
  if (float* d = g.d[kMhaWv])
    gemm_rm(h, true, false, s.Dkv, HD, BT, kv_in, s.Dkv, dqkv + 2 * HD, Q3, d, HD, g.acc[kMhaWv]);
  if (float* d = g.d[kMhaWo]) gemm_rm(h, true, false, HD, s.Do, BT, ctx, HD, dy, s.Do, d, s.Do, g.acc[kMhaWo]);
  column_sum(st, dqkv, BT, Q3, HD, g.d[kMhaBq], g.acc[kMhaBq]);
  column_sum(st, dqkv + 2 * HD, BT, Q3, HD, g.d[kMhaBv], g.acc[kMhaBv]);
  column_sum(st, dy, BT, s.Do, s.Do, g.d[kMhaBo], g.acc[kMhaBo]);
  if (g.d[kMhaBk] && !g.acc[kMhaBk])
    check(cudaMemsetAsync(g.d[kMhaBk], 0, sizeof(float) * HD, st), "mha dbk zero");
}

}  // namespace

void mha_fwd(cublasHandle_t h, cudaStream_t st, const float* q_in, const float* kv_in, const MhaWeights& w,
             const float* keep, float* y, float* qkv, float* probs, float* ctx, const MhaDims& s,
             bool force_general) {
  if (!mha_use_fused(s, force_general)) {
    fwd_general(h, st, q_in, kv_in, w, keep, y, qkv, probs, ctx, s);
    return;
  }
  const size_t smem = sizeof(float) * size_t(mha_fused_fwd_smem_floats(s));
  mha_fwd_fused_kernel<<<unsigned(mha_fused_blocks(s)), kMhaThreads, smem, st>>>(kdims(s), param_layout(s), w, q_in,
                                                                                  kv_in, keep, y, qkv, probs, ctx);
  check_launch("mha fused forward");
}

void mha_bwd(cublasHandle_t h, cudaStream_t st, const float* q_in, const float* kv_in, const MhaWeights& w,
             const float* keep, const float* qkv, const float* probs, const float* ctx, const float* dy,
             const MhaGrads& g, float* scratch, const MhaDims& s, bool force_general) {
  if (!dy) {  // no gradient reached y: every wanted gradient is zero
    const int64_t HD = s.H * s.Dh;
    const int64_t sizes[kMhaGrads] = {s.B * s.Nt * s.Dq, s.B * s.Nt * s.Dkv, s.Dq * HD, HD, s.Dkv * HD, HD,
                                      s.Dkv * HD,        HD,                 HD * s.Do, s.Do};
    for (int k = 0; k < kMhaGrads; ++k)
      if (g.d[k] && !g.acc[k]) check(cudaMemsetAsync(g.d[k], 0, sizeof(float) * size_t(sizes[k]), st), "mha zero grad");
    return;
  }
  if (!mha_use_fused(s, force_general)) {
    bwd_general(h, st, q_in, kv_in, w, keep, qkv, probs, ctx, dy, g, scratch, s);
    return;
  }
  const ParamLayout L = param_layout(s);
  const int64_t blocks = mha_fused_blocks(s);
  const size_t smem = sizeof(float) * size_t(mha_fused_bwd_smem_floats(s));
  mha_bwd_fused_kernel<<<unsigned(blocks), kMhaThreads, smem, st>>>(kdims(s), L, w, q_in, kv_in, keep, qkv, probs,
                                                                     ctx, dy, g, scratch);
  check_launch("mha fused backward");
  bool any_weight = false;
  for (int k = kMhaWq; k < kMhaGrads; ++k) any_weight = any_weight || g.d[k] != nullptr;
  if (any_weight) {
    mha_reduce_partials_kernel<<<unsigned(L.count), kMhaThreads, 0, st>>>(scratch, blocks, L, g);
    check_launch("mha weight-gradient reduction");
  }
}

}  // namespace cuvi::cuda
