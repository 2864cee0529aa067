// Op "mha": multi-head scaled dot-product attention with Q/K/V and output projections, the core of
// MRVI's AttentionBlock (spec/mrvi.md §1 steps 2-3, §6 shapes). Weights in flax (in, out) layout (§7.11):
// a flax kernel (Dq, H, d) flattens head-major to Wq (Dq, H*d), an output kernel (H, d, Do) to Wo (H*d, Do).
#include "engine/ops/op_util.h"
#include "kernels/cpu/attention.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/attention.h"
#endif

namespace cuvi::ops {
namespace {

constexpr const char* kOp = "mha";
// Inputs: q_in (B,T,Dq), kv_in (B,T,Dkv), Wq (Dq,HD), bq (HD), Wk (Dkv,HD), bk, Wv (Dkv,HD), bv,
// Wo (HD,Do), bo (Do), keep (B,H,T,T) optional dropout multiplier on the softmax probabilities.
enum : int { kQIn, kKvIn, kWq, kBq, kWk, kBk, kWv, kBv, kWo, kBo, kKeep, kInputs };
static_assert(int(cpu::kMhaGrads) == kKeep && int(cpu::kMhaBk) == kBk, "gradient slots follow the op's input order");
#ifndef CUVI_CPU_ONLY
static_assert(int(cuda::kMhaGrads) == kKeep && int(cuda::kMhaBk) == kBk, "gradient slots follow the op's input order");
#endif
// Params: i[0] = number of heads H; i[1] = 1 sends the CUDA backend down its general path even
// where the fused kernels fit (used by the tests to cover both CUDA paths).
// Aux: 0 qkv (B,T,3HD), 1 probs (B,H,T,T), 2 ctx (B,T,HD), 3 CUDA backward scratch (unused on CPU).

cpu::MhaDims cpu_dims(const Tensor* in, const OpParams& p) {
  const int64_t H = p.i[0];
  return {in[kQIn].dim(0), in[kQIn].dim(1), in[kQIn].dim(2), in[kKvIn].dim(2), H, in[kWq].dim(1) / H,
          in[kWo].dim(1)};
}
#ifndef CUVI_CPU_ONLY
cuda::MhaDims cuda_dims(const Tensor* in, const OpParams& p) {
  const cpu::MhaDims d = cpu_dims(in, p);
  return {d.B, d.Nt, d.Dq, d.Dkv, d.H, d.Dh, d.Do};
}
bool force_general(const OpParams& p) { return p.i[1] == 1; }
#endif

void expect_dims(const char* what, const Tensor& t, std::initializer_list<int64_t> dims, const char* layout) {
  const Shape want(dims);
  CUVI_CHECK(t.shape == want, std::string(kOp) + ": " + what + " must be " + layout + " = " + want.str() + ", got " +
                                  t.shape.str());
}

void shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  static const char* names[kInputs] = {"q_in", "kv_in", "Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo", "keep"};
  for (int i = 0; i < kInputs; ++i) {
    if (i == kKeep && !in[i].defined()) continue;
    CUVI_CHECK(in[i].defined(), std::string(kOp) + ": input " + names[i] + " is required");
    expect_float(kOp, names[i], in[i]);
    CUVI_CHECK(in[i].dtype == in[kQIn].dtype, std::string(kOp) + ": " + names[i] + " is " + dtype_name(in[i].dtype) +
                                                  " but q_in is " + dtype_name(in[kQIn].dtype));
    CUVI_CHECK(in[i].is_contiguous(), std::string(kOp) + ": " + names[i] + " must be contiguous");
  }
  expect_rank(kOp, "q_in (B, T, Dq)", in[kQIn], 3);
  expect_rank(kOp, "kv_in (B, T, Dkv)", in[kKvIn], 3);
  expect_rank(kOp, "Wq (Dq, H*d)", in[kWq], 2);
  expect_rank(kOp, "Wo (H*d, Do)", in[kWo], 2);
  const int64_t B = in[kQIn].dim(0), T = in[kQIn].dim(1), Dq = in[kQIn].dim(2), Dkv = in[kKvIn].dim(2);
  const int64_t HD = in[kWq].dim(1), Do = in[kWo].dim(1), H = p.i[0];
  CUVI_CHECK(B >= 1 && T >= 1 && Dq >= 1 && Dkv >= 1 && HD >= 1 && Do >= 1,
             std::string(kOp) + ": empty dimension in q_in " + in[kQIn].shape.str() + ", kv_in " +
                 in[kKvIn].shape.str() + ", Wq " + in[kWq].shape.str() + " or Wo " + in[kWo].shape.str());
  CUVI_CHECK(in[kKvIn].dim(0) == B && in[kKvIn].dim(1) == T,
             std::string(kOp) + ": q_in " + in[kQIn].shape.str() + " and kv_in " + in[kKvIn].shape.str() +
                 " must share batch and token counts (B, T)");
  CUVI_CHECK(H >= 1, std::string(kOp) + ": the number of heads (param i0) must be >= 1, got " + std::to_string(H));
  CUVI_CHECK(HD % H == 0, std::string(kOp) + ": projection width " + std::to_string(HD) +
                              " (columns of Wq) is not divisible by " + std::to_string(H) + " heads");
  expect_dims("Wq", in[kWq], {Dq, HD}, "(Dq, H*d)");
  expect_dims("bq", in[kBq], {HD}, "(H*d)");
  expect_dims("Wk", in[kWk], {Dkv, HD}, "(Dkv, H*d)");
  expect_dims("bk", in[kBk], {HD}, "(H*d)");
  expect_dims("Wv", in[kWv], {Dkv, HD}, "(Dkv, H*d)");
  expect_dims("bv", in[kBv], {HD}, "(H*d)");
  expect_dims("Wo", in[kWo], {HD, Do}, "(H*d, Do)");
  expect_dims("bo", in[kBo], {Do}, "(Do)");
  if (in[kKeep].defined()) expect_dims("keep", in[kKeep], {B, H, T, T}, "(B, H, T, T)");
  s->out[0] = fspec({B, T, Do});
  s->aux[0] = fspec({B, T, 3 * HD});
  s->aux[1] = fspec({B, H, T, T});
  s->aux[2] = fspec({B, T, HD});
#ifdef CUVI_CPU_ONLY
  s->aux[3] = fspec({1});  // the CUDA backward scratch: no use without CUDA
#else
  s->aux[3] = fspec({cuda::mha_scratch_floats(cuda_dims(in, p), force_general(p))});
#endif
}

template <class T>
cpu::MhaWeights<T> cpu_weights(const OpIO& io) {
  return {in_ptr<T>(io, kWq), in_ptr<T>(io, kBq), in_ptr<T>(io, kWk), in_ptr<T>(io, kBk),
          in_ptr<T>(io, kWv), in_ptr<T>(io, kBv), in_ptr<T>(io, kWo), in_ptr<T>(io, kBo)};
}
#ifndef CUVI_CPU_ONLY
cuda::MhaWeights cuda_weights(const OpIO& io) {
  return {in_ptr<float>(io, kWq), in_ptr<float>(io, kBq), in_ptr<float>(io, kWk), in_ptr<float>(io, kBk),
          in_ptr<float>(io, kWv), in_ptr<float>(io, kBv), in_ptr<float>(io, kWo), in_ptr<float>(io, kBo)};
}
#endif

template <class T>
void fwd_cpu(const OpIO& io) {
  cpu::mha_fwd<T>(in_ptr<T>(io, kQIn), in_ptr<T>(io, kKvIn), cpu_weights<T>(io), in_ptr<T>(io, kKeep),
                  out_ptr<T>(io, 0), aux_ptr<T>(io, 0), aux_ptr<T>(io, 1), aux_ptr<T>(io, 2), cpu_dims(io.in, *io.p));
}
template <class T>
void bwd_cpu(const OpIO& io) {
  cpu::MhaGrads<T> g;
  for (int k = 0; k < cpu::kMhaGrads; ++k) {
    g.d[k] = din_ptr<T>(io, k);
    g.acc[k] = acc(io, k);
  }
  cpu::mha_bwd<T>(in_ptr<T>(io, kQIn), in_ptr<T>(io, kKvIn), cpu_weights<T>(io), in_ptr<T>(io, kKeep),
                  aux_ptr<T>(io, 0), aux_ptr<T>(io, 1), aux_ptr<T>(io, 2), dout_ptr<T>(io, 0), g,
                  cpu_dims(io.in, *io.p));
}
#ifndef CUVI_CPU_ONLY
void fwd_cuda(const OpIO& io) {
  cuda::mha_fwd(cublas(io), stream(io), in_ptr<float>(io, kQIn), in_ptr<float>(io, kKvIn), cuda_weights(io),
                in_ptr<float>(io, kKeep), out_ptr<float>(io, 0), aux_ptr<float>(io, 0), aux_ptr<float>(io, 1),
                aux_ptr<float>(io, 2), cuda_dims(io.in, *io.p), force_general(*io.p));
}
void bwd_cuda(const OpIO& io) {
  cuda::MhaGrads g;
  for (int k = 0; k < cuda::kMhaGrads; ++k) {
    g.d[k] = din_ptr<float>(io, k);
    g.acc[k] = acc(io, k);
  }
  cuda::mha_bwd(cublas(io), stream(io), in_ptr<float>(io, kQIn), in_ptr<float>(io, kKvIn), cuda_weights(io),
                in_ptr<float>(io, kKeep), aux_ptr<float>(io, 0), aux_ptr<float>(io, 1), aux_ptr<float>(io, 2),
                dout_ptr<float>(io, 0), g, aux_ptr<float>(io, 3), cuda_dims(io.in, *io.p), force_general(*io.p));
}
#endif

// Forward FLOPs: projections, logits, softmax (max, subtract, exp, sum, divide), dropout, context, output.
double flops(const Tensor* in, const OpParams& p) {
  const cpu::MhaDims d = cpu_dims(in, p);
  const double BT = double(d.B) * d.Nt, HD = double(d.H) * d.Dh, P = double(d.B) * d.H * d.Nt * d.Nt;
  return BT * HD * (2.0 * (d.Dq + 2 * d.Dkv) + 3)  // Q, K, V with bias
         + 2.0 * P * d.Dh + P                        // logits and scale
         + 5.0 * P + (in[kKeep].defined() ? P : 0)   // softmax, dropout
         + 2.0 * P * d.Dh                            // context
         + BT * d.Do * (2.0 * HD + 1);               // output projection with bias
}
// Forward bytes (f32): inputs and weights read, keep read, y and the saved qkv, probs, ctx written.
double bytes(const Tensor* in, const OpParams& p) {
  const cpu::MhaDims d = cpu_dims(in, p);
  const double BT = double(d.B) * d.Nt, HD = double(d.H) * d.Dh, P = double(d.B) * d.H * d.Nt * d.Nt;
  const double weights = (d.Dq + 2.0 * d.Dkv) * HD + 3 * HD + HD * d.Do + d.Do;
  return 4.0 * (BT * (d.Dq + d.Dkv) + weights + (in[kKeep].defined() ? P : 0) + BT * d.Do + BT * 3 * HD + P +
                BT * HD);
}

// One case: (B, T, Dq, Dkv, H, d, Do), keep generator (absent() for none), force the general CUDA path.
TestCase make_case(const std::string& label, int64_t B, int64_t T, int64_t Dq, int64_t Dkv, int64_t H, int64_t d,
                   int64_t Do, GenSpec keep, bool general = false) {
  const int64_t HD = H * d;
  TestCase tc;
  tc.label = label;
  tc.shapes = {{B, T, Dq}, {B, T, Dkv}, {Dq, HD}, {HD}, {Dkv, HD}, {HD}, {Dkv, HD}, {HD}, {HD, Do}, {Do},
               {B, H, T, T}};
  tc.gens = {uniform(), uniform(), uniform(), uniform(), uniform(), uniform(), uniform(), uniform(), uniform(),
             uniform(), keep};
  tc.p.i[0] = H;
  tc.p.i[1] = general ? 1 : 0;
  tc.reduction = B * T;  // weight gradients sum over every (b, t)
  return tc;
}

std::vector<TestCase> tests() {
  return {
      make_case("scalar_tokens", 3, 5, 1, 1, 2, 3, 4, absent()),
      make_case("scalar_tokens_dropout", 3, 5, 1, 1, 2, 3, 4, binary(0.75)),
      make_case("wide_tokens_one_head", 2, 7, 3, 2, 1, 4, 3, absent()),
      make_case("wide_tokens_one_head_dropout", 2, 7, 3, 2, 1, 4, 3, binary(0.8)),
      make_case("three_heads_dropout", 2, 9, 2, 3, 3, 2, 5, binary(0.85)),
      make_case("mrvi_shape_dropout", 2, 16, 1, 1, 2, 4, 4, binary(0.9)),
      make_case("scalar_tokens_dropout_general", 3, 5, 1, 1, 2, 3, 4, binary(0.75), true),
      make_case("wide_tokens_one_head_general", 2, 7, 3, 2, 1, 4, 3, absent(), true),
      // T = 80 with 2 heads needs more shared memory than the fused kernels may use: general path.
      make_case("long_sequence", 2, 80, 1, 1, 2, 2, 3, binary(0.9)),
  };
}
// MRVI shapes (spec §6): training minibatches with dropout, evaluation, and counterfactual passes
// over S = 8 samples (batch 1024 * 8) without dropout.
std::vector<TestCase> bench() {
  return {
      make_case("train_B128", 128, 16, 1, 1, 2, 4, 4, binary(0.97)),
      make_case("train_B1024", 1024, 16, 1, 1, 2, 4, 4, binary(0.97)),
      make_case("eval_B1024", 1024, 16, 1, 1, 2, 4, 4, absent()),
      make_case("counterfactual_B8192", 1024 * 8, 16, 1, 1, 2, 4, 4, absent()),
  };
}

}  // namespace

void register_attention_ops(Registry& r) {
  OpDef d;
  d.name = "mha";
  d.n_in = kInputs;
  d.n_out = 1;
  d.n_aux = 4;
  d.diff_inputs = (1u << kKeep) - 1;  // everything but keep
  d.shapes = shapes;
  CUVI_CPU_KERNELS(d, fwd_cpu, bwd_cpu);
  d.cuda_fwd = CUVI_CUDA_FN(fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(bwd_cuda);
  d.flops = flops;
  d.bytes = bytes;
  d.test_cases = tests;
  d.bench_cases = bench;
  d.tol = Tol::Reduction;
  r.add(d);
}

}  // namespace cuvi::ops
