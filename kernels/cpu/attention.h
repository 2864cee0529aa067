// CPU multi-head scaled dot-product attention with input/output projections (MRVI AttentionBlock
// steps 2-3, spec/mrvi.md §1; op "mha"): projections through gemm (BLAS), the per-head core as plain
// loops with double accumulators, OpenMP over the batch. Nt is the token count (T = 16 in MRVI); HD = H * Dh.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace cuvi::cpu {

// Below this many multiply-adds a loop runs on one thread (thread start-up would dominate).
constexpr int64_t kMhaParallelWork = int64_t(1) << 15;

struct MhaDims {
  int64_t B, Nt, Dq, Dkv, H, Dh, Do;  // batch, tokens, query/kv token widths, heads, head depth, output width
};

// Projection weights in flax Dense (in, out) layout; columns of the H*Dh projections are head-major
// (column = head * Dh + d).
template <class T>
struct MhaWeights {
  const T* wq;  // (Dq, HD)
  const T* bq;  // (HD)
  const T* wk;  // (Dkv, HD)
  const T* bk;  // (HD)
  const T* wv;  // (Dkv, HD)
  const T* bv;  // (HD)
  const T* wo;  // (HD, Do)
  const T* bo;  // (Do)
};

// Gradient destinations in the op's input order; d[k] null: not wanted; acc[k]: add into d[k].
enum MhaGradIndex : int {
  kMhaQIn, kMhaKvIn, kMhaWq, kMhaBq, kMhaWk, kMhaBk, kMhaWv, kMhaBv, kMhaWo, kMhaBo, kMhaGrads
};
template <class T>
struct MhaGrads {
  T* d[kMhaGrads] = {};
  bool acc[kMhaGrads] = {};
};

// x[r, c] += bias[c] for the first `cols` columns of `rows` rows with row stride ld.
template <class T>
void add_row_bias(T* x, int64_t ld, int64_t rows, int64_t cols, const T* bias) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) x[r * ld + c] = static_cast<T>(double(x[r * ld + c]) + double(bias[c]));
}

// out[c] (+)= sum_r x[r, c], double accumulators, rows in order.
template <class T>
void col_sums(const T* x, int64_t ld, int64_t rows, int64_t cols, T* out, bool accumulate) {
  std::vector<double> acc(static_cast<size_t>(cols), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) acc[c] += double(x[r * ld + c]);
  for (int64_t c = 0; c < cols; ++c) out[c] = static_cast<T>(accumulate ? double(out[c]) + acc[c] : acc[c]);
}

// Forward. With X = Q, K, V and x = q_in, kv_in, kv_in:
//   X[b,t,c]   = bX[c] + sum_a x[b,t,a] WX[a,c]                       -> qkv[b,t, {0,1,2}*HD + c]
//   P[b,h,i,:] = softmax_j( sum_d Q[b,i,h*Dh+d] K[b,j,h*Dh+d] / sqrt(Dh) ) -> probs
//   A          = P * keep (keep absent: A = P)                         (dropout on the weights)
//   ctx[b,i,h*Dh+d] = sum_j A[b,h,i,j] V[b,j,h*Dh+d]                   -> ctx (heads concatenated)
//   y[b,t,o]   = bo[o] + sum_c ctx[b,t,c] Wo[c,o]
// Q, K, V, P and ctx are stored in T and every later stage reads the stored values.
template <class T>
void mha_fwd(const T* q_in,          // (B, Nt, Dq)
             const T* kv_in,         // (B, Nt, Dkv)
             const MhaWeights<T>& w,
             const T* keep,          // (B, H, Nt, Nt) or null
             T* y,                   // (B, Nt, Do)
             T* qkv,                 // (B, Nt, 3 * HD)
             T* probs,               // (B, H, Nt, Nt)
             T* ctx,                 // (B, Nt, HD)
             const MhaDims& s) {
  const int64_t Nt = s.Nt, H = s.H, Dh = s.Dh, HD = s.H * s.Dh, Q3 = 3 * HD, Do = s.Do, BT = s.B * Nt;
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  // Projections of every token at once: Q from the query tokens, K and V from the key/value tokens.
  gemm<T>(false, false, BT, HD, s.Dq, q_in, s.Dq, w.wq, HD, qkv, Q3, false);
  gemm<T>(false, false, BT, HD, s.Dkv, kv_in, s.Dkv, w.wk, HD, qkv + HD, Q3, false);
  gemm<T>(false, false, BT, HD, s.Dkv, kv_in, s.Dkv, w.wv, HD, qkv + 2 * HD, Q3, false);
  add_row_bias(qkv, Q3, BT, HD, w.bq);
  add_row_bias(qkv + HD, Q3, BT, HD, w.bk);
  add_row_bias(qkv + 2 * HD, Q3, BT, HD, w.bv);
  const bool threaded = BT * Nt * HD >= kMhaParallelWork;
#pragma omp parallel if (threaded)
  {
    std::vector<double> row(static_cast<size_t>(Nt));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < s.B; ++b) {
      const T* qkv_b = qkv + b * Nt * Q3;
      T* ctx_b = ctx + b * Nt * HD;
      // Per head and query row: scaled logits, softmax over keys (max-shifted), then the context.
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < Nt; ++i) {
          const T* qi = qkv_b + i * Q3 + h * Dh;
          for (int64_t j = 0; j < Nt; ++j) {
            const T* kj = qkv_b + j * Q3 + HD + h * Dh;
            double dot = 0;
            for (int64_t d = 0; d < Dh; ++d) dot += double(qi[d]) * double(kj[d]);
            row[j] = dot * scale;
          }
          double m = row[0];
          for (int64_t j = 1; j < Nt; ++j)
            if (row[j] > m) m = row[j];
          double sum = 0;
          for (int64_t j = 0; j < Nt; ++j) {
            row[j] = std::exp(row[j] - m);
            sum += row[j];
          }
          const int64_t prow = ((b * H + h) * Nt + i) * Nt;
          for (int64_t j = 0; j < Nt; ++j) probs[prow + j] = static_cast<T>(row[j] / sum);
          for (int64_t d = 0; d < Dh; ++d) {
            double acc = 0;
            for (int64_t j = 0; j < Nt; ++j) {
              const double p = double(probs[prow + j]);
              const double a = keep ? p * double(keep[prow + j]) : p;
              acc += a * double(qkv_b[j * Q3 + 2 * HD + h * Dh + d]);
            }
            ctx_b[i * HD + h * Dh + d] = static_cast<T>(acc);
          }
        }
    }
  }
  // Output projection over the concatenated heads.
  gemm<T>(false, false, BT, Do, HD, ctx, HD, w.wo, Do, y, Do, false);
  add_row_bias(y, Do, BT, Do, w.bo);
}

// Backward from dy (null: no gradient reached y, every wanted gradient is zero). With s = 1/sqrt(Dh):
//   dctx = dy Wo^T;  dWo = sum_{b,t} ctx^T dy;  dbo = sum_{b,t} dy
//   dP_ij = keep_ij * sum_d dctx[i,h*Dh+d] V[j,h*Dh+d];  dS_ij = s * P_ij (dP_ij - sum_k P_ik dP_ik)
//   dQ_i = sum_j dS_ij K_j;  dK_j = sum_i dS_ij Q_i;  dV_j = sum_i A_ij dctx_i   (per head)
//   d q_in = dQ Wq^T;  d kv_in = dK Wk^T + dV Wv^T;  dWX = sum_{b,t} x^T dX;  dbq, dbv = column sums.
// dbk is identically zero: bk adds q_i . bk to every logit of row i, a shift softmax ignores
// (sum_j dS_ij = 0), so it is written as an exact zero rather than as rounding noise.
template <class T>
void mha_bwd(const T* q_in,          // (B, Nt, Dq)
             const T* kv_in,         // (B, Nt, Dkv)
             const MhaWeights<T>& w,
             const T* keep,          // (B, H, Nt, Nt) or null
             const T* qkv,           // (B, Nt, 3 * HD) saved by mha_fwd
             const T* probs,         // (B, H, Nt, Nt) saved by mha_fwd
             const T* ctx,           // (B, Nt, HD) saved by mha_fwd
             const T* dy,            // (B, Nt, Do) or null
             const MhaGrads<T>& g,
             const MhaDims& s) {
  const int64_t B = s.B, Nt = s.Nt, H = s.H, Dh = s.Dh, HD = s.H * s.Dh, Q3 = 3 * HD, Do = s.Do, BT = B * Nt;
  const int64_t sizes[kMhaGrads] = {BT * s.Dq, BT * s.Dkv, s.Dq * HD, HD, s.Dkv * HD, HD, s.Dkv * HD, HD, HD * Do, Do};
  if (!dy) {
    for (int k = 0; k < kMhaGrads; ++k)
      if (g.d[k] && !g.acc[k])
        for (int64_t e = 0; e < sizes[k]; ++e) g.d[k][e] = T(0);
    return;
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  std::vector<T> dctx(static_cast<size_t>(BT * HD)), dqkv(static_cast<size_t>(BT * Q3));  // dQ | dK | dV per token
  gemm<T>(false, true, BT, HD, Do, dy, Do, w.wo, Do, dctx.data(), HD, false);
  const bool threaded = BT * Nt * HD >= kMhaParallelWork;
#pragma omp parallel if (threaded)
  {
    std::vector<double> ds(static_cast<size_t>(Nt * Nt));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      const T* qkv_b = qkv + b * Nt * Q3;
      const T* dctx_b = dctx.data() + b * Nt * HD;
      T* dqkv_b = dqkv.data() + b * Nt * Q3;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t p0 = (b * H + h) * Nt * Nt;
        // dS for every (i, j) of this head.
        for (int64_t i = 0; i < Nt; ++i) {
          double dot = 0;
          for (int64_t j = 0; j < Nt; ++j) {
            double da = 0;
            for (int64_t d = 0; d < Dh; ++d)
              da += double(dctx_b[i * HD + h * Dh + d]) * double(qkv_b[j * Q3 + 2 * HD + h * Dh + d]);
            const double dp = keep ? da * double(keep[p0 + i * Nt + j]) : da;
            ds[i * Nt + j] = dp;
            dot += double(probs[p0 + i * Nt + j]) * dp;
          }
          for (int64_t j = 0; j < Nt; ++j)
            ds[i * Nt + j] = scale * double(probs[p0 + i * Nt + j]) * (ds[i * Nt + j] - dot);
        }
        for (int64_t t = 0; t < Nt; ++t)
          for (int64_t d = 0; d < Dh; ++d) {
            const int64_t c = h * Dh + d;
            double dq = 0, dk = 0, dv = 0;
            for (int64_t u = 0; u < Nt; ++u) {
              dq += ds[t * Nt + u] * double(qkv_b[u * Q3 + HD + c]);  // query t, key u
              dk += ds[u * Nt + t] * double(qkv_b[u * Q3 + c]);       // query u, key t
              const double p = double(probs[p0 + u * Nt + t]);
              const double a = keep ? p * double(keep[p0 + u * Nt + t]) : p;
              dv += a * double(dctx_b[u * HD + c]);
            }
            dqkv_b[t * Q3 + c] = static_cast<T>(dq);
            dqkv_b[t * Q3 + HD + c] = static_cast<T>(dk);
            dqkv_b[t * Q3 + 2 * HD + c] = static_cast<T>(dv);
          }
      }
    }
  }
  const T* dq = dqkv.data();
  const T* dk = dqkv.data() + HD;
  const T* dv = dqkv.data() + 2 * HD;
  // Input gradients: d q_in = dQ Wq^T; d kv_in = dK Wk^T + dV Wv^T.
  if (T* d = g.d[kMhaQIn]) gemm<T>(false, true, BT, s.Dq, HD, dq, Q3, w.wq, HD, d, s.Dq, g.acc[kMhaQIn]);
  if (T* d = g.d[kMhaKvIn]) {
    gemm<T>(false, true, BT, s.Dkv, HD, dk, Q3, w.wk, HD, d, s.Dkv, g.acc[kMhaKvIn]);
    gemm<T>(false, true, BT, s.Dkv, HD, dv, Q3, w.wv, HD, d, s.Dkv, true);
  }
  // Weight gradients sum over every (b, t): dWX = x^T dX, dWo = ctx^T dy; biases are column sums.
  if (T* d = g.d[kMhaWq]) gemm<T>(true, false, s.Dq, HD, BT, q_in, s.Dq, dq, Q3, d, HD, g.acc[kMhaWq]);
  if (T* d = g.d[kMhaWk]) gemm<T>(true, false, s.Dkv, HD, BT, kv_in, s.Dkv, dk, Q3, d, HD, g.acc[kMhaWk]);
  if (T* d = g.d[kMhaWv]) gemm<T>(true, false, s.Dkv, HD, BT, kv_in, s.Dkv, dv, Q3, d, HD, g.acc[kMhaWv]);
  if (T* d = g.d[kMhaWo]) gemm<T>(true, false, HD, Do, BT, ctx, HD, dy, Do, d, Do, g.acc[kMhaWo]);
  if (T* d = g.d[kMhaBq]) col_sums(dq, Q3, BT, HD, d, g.acc[kMhaBq]);
  if (T* d = g.d[kMhaBv]) col_sums(dv, Q3, BT, HD, d, g.acc[kMhaBv]);
  if (T* d = g.d[kMhaBo]) col_sums(dy, Do, BT, Do, d, g.acc[kMhaBo]);
  if (T* d = g.d[kMhaBk])
    if (!g.acc[kMhaBk])
      for (int64_t c = 0; c < HD; ++c) d[c] = T(0);
}

}  // namespace cuvi::cpu
