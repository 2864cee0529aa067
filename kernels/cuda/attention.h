// CUDA launchers for multi-head scaled dot-product attention with projections (op "mha",
// spec/mrvi.md §1 AttentionBlock steps 2-3, §6). Same contract as kernels/cpu/attention.h, fp32,
// device pointers. Nt is the token count; HD = H * Dh. Deterministic: no float atomics.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

struct MhaDims {
  int64_t B, Nt, Dq, Dkv, H, Dh, Do;  // batch, tokens, query/kv token widths, heads, head depth, output width
};

struct MhaWeights {
  const float* wq;  // (Dq, HD)
  const float* bq;  // (HD)
  const float* wk;  // (Dkv, HD)
  const float* bk;  // (HD)
  const float* wv;  // (Dkv, HD)
  const float* bv;  // (HD)
  const float* wo;  // (HD, Do)
  const float* bo;  // (Do)
};

// Gradient destinations in the op's input order; d[k] null: not wanted; acc[k]: add into d[k].
enum MhaGradIndex : int {
  kMhaQIn, kMhaKvIn, kMhaWq, kMhaBq, kMhaWk, kMhaBk, kMhaWv, kMhaBv, kMhaWo, kMhaBo, kMhaGrads
};
struct MhaGrads {
  float* d[kMhaGrads] = {};
  bool acc[kMhaGrads] = {};
};

// Fused path: one thread block per batch element at a time (grid-stride over B, at most
// kMhaMaxBlocks blocks), everything of one element in shared memory, at most kMhaSmemBudget bytes
// (the default dynamic limit, so no opt-in attribute is needed). Shapes beyond it take the general
// path (cuBLAS projections plus one-thread-per-row attention kernels), which is slower.
constexpr int kMhaThreads = 128;
constexpr int64_t kMhaMaxBlocks = 2048;
constexpr int64_t kMhaSmemBudget = 48 * 1024;

// Flat parameter vector [Wq | bq | Wk | bk | Wv | bv | Wo | bo]: the layout of the shared-memory
// weight copy and of the per-block weight-gradient partials.
inline int64_t mha_param_count(const MhaDims& s) {
  const int64_t HD = s.H * s.Dh;
  return s.Dq * HD + HD + 2 * (s.Dkv * HD + HD) + HD * s.Do + s.Do;
}
// Floats of shared memory the fused backward needs (it needs more than the fused forward).
inline int64_t mha_fused_bwd_smem_floats(const MhaDims& s) {
  const int64_t HD = s.H * s.Dh, Nt = s.Nt;
  return 2 * mha_param_count(s)                  // weights, gradient accumulators
         + Nt * (s.Dq + s.Dkv)                   // token inputs
         + 2 * Nt * 3 * HD                       // Q|K|V and dQ|dK|dV
         + 2 * s.H * Nt * Nt + s.H * Nt          // P (then A), dP (then dS), row dots
         + 2 * Nt * HD + Nt * s.Do;              // ctx, dctx, dy
}
inline int64_t mha_fused_fwd_smem_floats(const MhaDims& s) {
  const int64_t HD = s.H * s.Dh, Nt = s.Nt;
  return mha_param_count(s) + Nt * (s.Dq + s.Dkv) + Nt * 3 * HD + s.H * Nt * Nt + s.H * Nt + Nt * HD;
}
inline bool mha_use_fused(const MhaDims& s, bool force_general) {
  return !force_general && 4 * mha_fused_bwd_smem_floats(s) <= kMhaSmemBudget;
}
inline int64_t mha_fused_blocks(const MhaDims& s) { return s.B < kMhaMaxBlocks ? s.B : kMhaMaxBlocks; }
// Floats of device scratch the backward needs (the op's scratch aux tensor): weight-gradient
// partials (blocks, params) on the fused path; dctx, dS and dQ|dK|dV on the general path.
inline int64_t mha_scratch_floats(const MhaDims& s, bool force_general) {
  const int64_t HD = s.H * s.Dh;
  if (mha_use_fused(s, force_general)) return mha_fused_blocks(s) * mha_param_count(s);
  return s.B * s.Nt * (HD + 3 * HD) + s.B * s.H * s.Nt * s.Nt;
}

// Forward: y and the saved tensors qkv, probs, ctx, exactly as cpu::mha_fwd defines them.
void mha_fwd(cublasHandle_t h, cudaStream_t st,
             const float* q_in,   // (B, Nt, Dq)
             const float* kv_in,  // (B, Nt, Dkv)
             const MhaWeights& w,
             const float* keep,   // (B, H, Nt, Nt) or null
             float* y,            // (B, Nt, Do)
             float* qkv,          // (B, Nt, 3 * HD)
             float* probs,        // (B, H, Nt, Nt)
             float* ctx,          // (B, Nt, HD)
             const MhaDims& s, bool force_general);

// Backward: gradients as cpu::mha_bwd defines them (dbk is an exact zero). scratch holds
// mha_scratch_floats(s, force_general) floats; its contents on entry do not matter.
void mha_bwd(cublasHandle_t h, cudaStream_t st,
             const float* q_in,   // (B, Nt, Dq)
             const float* kv_in,  // (B, Nt, Dkv)
             const MhaWeights& w,
             const float* keep,   // (B, H, Nt, Nt) or null
             const float* qkv,    // (B, Nt, 3 * HD)
             const float* probs,  // (B, H, Nt, Nt)
             const float* ctx,    // (B, Nt, HD)
             const float* dy,     // (B, Nt, Do) or null
             const MhaGrads& g,
             float* scratch,      // (mha_scratch_floats)
             const MhaDims& s, bool force_general);

}  // namespace cuvi::cuda
