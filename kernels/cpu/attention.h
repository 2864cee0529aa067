// CPU reference for multi-head scaled dot-product attention with input/output projections
// (MRVI AttentionBlock steps 2-3, spec/mrvi.md §1; op "mha"). Plain loops, double accumulators,
// OpenMP over the batch, deterministic. Nt is the token count (T = 16 in MRVI); HD = H * Dh.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

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
  const int64_t Nt = s.Nt, H = s.H, Dh = s.Dh, HD = s.H * s.Dh, Q3 = 3 * HD, Do = s.Do;
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  const bool threaded = s.B * Nt * (Nt + s.Dq + s.Dkv + Do) * HD >= kMhaParallelWork;
#pragma omp parallel if (threaded)
  {
    std::vector<double> row(static_cast<size_t>(Nt));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < s.B; ++b) {
      const T* xq = q_in + b * Nt * s.Dq;
      const T* xkv = kv_in + b * Nt * s.Dkv;
      T* qkv_b = qkv + b * Nt * Q3;
      T* ctx_b = ctx + b * Nt * HD;
      // Projections: Q from the query tokens, K and V from the key/value tokens.
      for (int64_t t = 0; t < Nt; ++t)
        for (int64_t c = 0; c < HD; ++c) {
          double q = double(w.bq[c]), k = double(w.bk[c]), v = double(w.bv[c]);
          for (int64_t a = 0; a < s.Dq; ++a) q += double(xq[t * s.Dq + a]) * double(w.wq[a * HD + c]);
          for (int64_t a = 0; a < s.Dkv; ++a) {
            k += double(xkv[t * s.Dkv + a]) * double(w.wk[a * HD + c]);
            v += double(xkv[t * s.Dkv + a]) * double(w.wv[a * HD + c]);
          }
          qkv_b[t * Q3 + c] = static_cast<T>(q);
          qkv_b[t * Q3 + HD + c] = static_cast<T>(k);
          qkv_b[t * Q3 + 2 * HD + c] = static_cast<T>(v);
        }
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
      // Output projection over the concatenated heads.
      for (int64_t t = 0; t < Nt; ++t)
        for (int64_t o = 0; o < Do; ++o) {
          double acc = double(w.bo[o]);
          for (int64_t c = 0; c < HD; ++c) acc += double(ctx_b[t * HD + c]) * double(w.wo[c * Do + o]);
          y[(b * Nt + t) * Do + o] = static_cast<T>(acc);
        }
    }
  }
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
  const int64_t B = s.B, Nt = s.Nt, H = s.H, Dh = s.Dh, HD = s.H * s.Dh, Q3 = 3 * HD, Do = s.Do;
  const int64_t sizes[kMhaGrads] = {B * Nt * s.Dq, B * Nt * s.Dkv, s.Dq * HD, HD, s.Dkv * HD, HD, s.Dkv * HD, HD,
                                    HD * Do,       Do};
  // Writes value(k) into gradient buffer `which`, honouring its accumulate flag.
  auto store = [&](int which, int64_t k, double value) {
    T* dst = g.d[which];
    dst[k] = static_cast<T>(g.acc[which] ? double(dst[k]) + value : value);
  };
  if (!dy) {
    for (int k = 0; k < kMhaGrads; ++k)
      if (g.d[k] && !g.acc[k])
        for (int64_t e = 0; e < sizes[k]; ++e) g.d[k][e] = T(0);
    return;
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  std::vector<double> dqkv(static_cast<size_t>(B * Nt * Q3));  // dQ | dK | dV per token, for the weight sums
  const bool threaded = B * Nt * (Nt + s.Dq + s.Dkv + Do) * HD >= kMhaParallelWork;
#pragma omp parallel if (threaded)
  {
    std::vector<double> dctx(static_cast<size_t>(Nt * HD)), ds(static_cast<size_t>(Nt * Nt));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      const T* qkv_b = qkv + b * Nt * Q3;
      const T* dy_b = dy + b * Nt * Do;
      double* dqkv_b = dqkv.data() + b * Nt * Q3;
      for (int64_t i = 0; i < Nt; ++i)
        for (int64_t c = 0; c < HD; ++c) {
          double acc = 0;
          for (int64_t o = 0; o < Do; ++o) acc += double(dy_b[i * Do + o]) * double(w.wo[c * Do + o]);
          dctx[i * HD + c] = acc;
        }
      for (int64_t h = 0; h < H; ++h) {
        const int64_t p0 = (b * H + h) * Nt * Nt;
        // dS for every (i, j) of this head.
        for (int64_t i = 0; i < Nt; ++i) {
          double dot = 0;
          for (int64_t j = 0; j < Nt; ++j) {
            double da = 0;
            for (int64_t d = 0; d < Dh; ++d)
              da += dctx[i * HD + h * Dh + d] * double(qkv_b[j * Q3 + 2 * HD + h * Dh + d]);
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
              dv += a * dctx[u * HD + c];
            }
            dqkv_b[t * Q3 + c] = dq;
            dqkv_b[t * Q3 + HD + c] = dk;
            dqkv_b[t * Q3 + 2 * HD + c] = dv;
          }
      }
      if (g.d[kMhaQIn])
        for (int64_t t = 0; t < Nt; ++t)
          for (int64_t a = 0; a < s.Dq; ++a) {
            double acc = 0;
            for (int64_t c = 0; c < HD; ++c) acc += dqkv_b[t * Q3 + c] * double(w.wq[a * HD + c]);
            store(kMhaQIn, (b * Nt + t) * s.Dq + a, acc);
          }
      if (g.d[kMhaKvIn])
        for (int64_t t = 0; t < Nt; ++t)
          for (int64_t a = 0; a < s.Dkv; ++a) {
            double acc = 0;
            for (int64_t c = 0; c < HD; ++c)
              acc += dqkv_b[t * Q3 + HD + c] * double(w.wk[a * HD + c]) +
                     dqkv_b[t * Q3 + 2 * HD + c] * double(w.wv[a * HD + c]);
            store(kMhaKvIn, (b * Nt + t) * s.Dkv + a, acc);
          }
    }
  }
  // Weight gradients: one deterministic sum over (b, t) per entry.
  const int64_t BT = B * Nt;
  auto x_times_dx = [&](int which, const T* x, int64_t K, int64_t col0) {  // dW[a, c] = sum x[., a] dX[., c]
    if (!g.d[which]) return;
#pragma omp parallel for schedule(static) if (threaded)
    for (int64_t e = 0; e < K * HD; ++e) {
      const int64_t a = e / HD, c = e % HD;
      double acc = 0;
      for (int64_t r = 0; r < BT; ++r) acc += double(x[r * K + a]) * dqkv[r * Q3 + col0 + c];
      store(which, e, acc);
    }
  };
  auto col_sum = [&](int which, int64_t col0) {  // db[c] = sum dX[., c]
    if (!g.d[which]) return;
    for (int64_t c = 0; c < HD; ++c) {
      double acc = 0;
      for (int64_t r = 0; r < BT; ++r) acc += dqkv[r * Q3 + col0 + c];
      store(which, c, acc);
    }
  };
  x_times_dx(kMhaWq, q_in, s.Dq, 0);
  x_times_dx(kMhaWk, kv_in, s.Dkv, HD);
  x_times_dx(kMhaWv, kv_in, s.Dkv, 2 * HD);
  col_sum(kMhaBq, 0);
  col_sum(kMhaBv, 2 * HD);
  if (g.d[kMhaBk])
    for (int64_t c = 0; c < HD; ++c) store(kMhaBk, c, 0.0);
  if (g.d[kMhaWo]) {
#pragma omp parallel for schedule(static) if (threaded)
    for (int64_t e = 0; e < HD * Do; ++e) {
      const int64_t c = e / Do, o = e % Do;
      double acc = 0;
      for (int64_t r = 0; r < BT; ++r) acc += double(ctx[r * HD + c]) * double(dy[r * Do + o]);
      store(kMhaWo, e, acc);
    }
  }
  if (g.d[kMhaBo])
    for (int64_t o = 0; o < Do; ++o) {
      double acc = 0;
      for (int64_t r = 0; r < BT; ++r) acc += double(dy[r * Do + o]);
      store(kMhaBo, o, acc);
    }
}

}  // namespace cuvi::cpu
