// Ops mix_modalities (MULTIVI's joint posterior from per-modality posteriors, scvi-multivi.md §2.3),
// accessibility_log_prob (MULTIVI's fused ATAC reconstruction, §2.4) and pick_cols (a per-row column:
// the log-probability of each cell's own batch in the adversarial classifier's losses, §2.5);
// engine/ops/README.md catalog.
#include <cstring>

#include "engine/ops/op_util.h"
#include "kernels/cpu/accessibility.h"
#include "kernels/cpu/multimodal.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/accessibility.h"
#include "kernels/cuda/multimodal.h"
#endif

namespace cuvi::ops {
namespace {

constexpr int64_t kMaxModalities = 8;

void zero_din(const OpIO& io, int i) {
  if (!io.d_in[i].defined() || acc(io, i)) return;
#ifndef CUVI_CPU_ONLY
  if (io.ctx->device == Device::CUDA) {
    CUVI_CHECK(cudaMemsetAsync(io.d_in[i].data, 0, io.d_in[i].nbytes(), stream(io)) == cudaSuccess,
               "cudaMemsetAsync failed zeroing a gradient");
    return;
  }
#endif
  std::memset(io.d_in[i].data, 0, io.d_in[i].nbytes());
}

// ---- mix_modalities: w (N,K), mask (N,K), x (N,K*D) -> y (N,D); aux a (N,K) ----
// Params: f0 eps of the masked softmax (scvi-tools: 1e-30), f1 extra mass in its denominator (1e-30 per
// modality scvi-tools mixes in but the model leaves out), i0 = 1: weights enter as sqrt(a) (variances).

void mix_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  const char* op = "mix_modalities";
  for (int i = 0; i < 3; ++i) {
    expect_rank(op, i == 0 ? "w" : (i == 1 ? "mask" : "x"), in[i], 2);
    expect_float(op, i == 0 ? "w" : (i == 1 ? "mask" : "x"), in[i]);
  }
  expect_same(op, "w", in[0], "mask", in[1]);
  const int64_t N = in[0].dim(0), K = in[0].dim(1);
  CUVI_CHECK(K >= 1 && K <= kMaxModalities, "mix_modalities: 1 to 8 modalities, got w " + in[0].shape.str());
  CUVI_CHECK(in[2].dim(0) == N && in[2].dim(1) % K == 0 && in[2].dim(1) > 0,
             "mix_modalities: x must be (N, K * D) with the K of w " + in[0].shape.str() + ", got " + in[2].shape.str());
  s->out[0] = fspec({N, in[2].dim(1) / K});
  s->aux[0] = fspec({N, K});
}

template <class T>
void mix_fwd_cpu(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), K = io.in[0].dim(1), D = io.in[2].dim(1) / K;
  cpu::mix_modalities_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), out_ptr<T>(io, 0),
                             aux_ptr<T>(io, 0), N, K, D, io.p->f[0], io.p->f[1], io.p->i[0] == 1);
}
template <class T>
void mix_bwd_cpu(const OpIO& io) {
  if (!io.d_out[0].defined()) {
    zero_din(io, 0);
    zero_din(io, 2);
    return;
  }
  const int64_t N = io.in[0].dim(0), K = io.in[0].dim(1), D = io.in[2].dim(1) / K;
  cpu::mix_modalities_bwd<T>(in_ptr<T>(io, 1), in_ptr<T>(io, 2), aux_ptr<T>(io, 0), dout_ptr<T>(io, 0),
                             din_ptr<T>(io, 0), din_ptr<T>(io, 2), acc(io, 0), acc(io, 2), N, K, D, io.p->i[0] == 1);
}
#ifndef CUVI_CPU_ONLY
void mix_fwd_cuda(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), K = io.in[0].dim(1), D = io.in[2].dim(1) / K;
  cuda::mix_modalities_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                           out_ptr<float>(io, 0), aux_ptr<float>(io, 0), N, K, D, float(io.p->f[0]),
                           float(io.p->f[1]), io.p->i[0] == 1);
}
void mix_bwd_cuda(const OpIO& io) {
  if (!io.d_out[0].defined()) {
    zero_din(io, 0);
    zero_din(io, 2);
    return;
  }
  const int64_t N = io.in[0].dim(0), K = io.in[0].dim(1), D = io.in[2].dim(1) / K;
  cuda::mix_modalities_bwd(stream(io), in_ptr<float>(io, 1), in_ptr<float>(io, 2), aux_ptr<float>(io, 0),
                           dout_ptr<float>(io, 0), din_ptr<float>(io, 0), din_ptr<float>(io, 2), acc(io, 0),
                           acc(io, 2), N, K, D, io.p->i[0] == 1);
}
#endif
double mix_flops(const Tensor* in, const OpParams&) { return 2.0 * in[2].numel() + 4.0 * in[0].numel(); }
double mix_bytes(const Tensor* in, const OpParams&) {
  return 4.0 * (in[2].numel() + 3 * in[0].numel() + in[2].numel() / in[0].dim(1));
}

OpParams mix_params(double eps, double extra, bool sqrt_weights) {
  OpParams p;
  p.f[0] = eps;
  p.f[1] = extra;
  p.i[0] = sqrt_weights ? 1 : 0;
  return p;
}
std::vector<TestCase> mix_tests() {
  // Masks drawn with P(1) = 0.6 include fully masked rows (every weight eps / (K eps + eps + extra)).
  return {{"two_modalities_means", {{9, 2}, {9, 2}, {9, 14}}, {uniform(-1, 1), binary(0.6), uniform()},
           mix_params(1e-30, 1e-30, false), 2},
          {"two_modalities_variances", {{9, 2}, {9, 2}, {9, 22}}, {uniform(-1, 1), binary(0.6), loguniform(0.1, 3)},
           mix_params(1e-30, 1e-30, true), 2},
          {"three_modalities", {{7, 3}, {7, 3}, {7, 15}}, {uniform(-2, 2), binary(0.7), uniform()},
           mix_params(1e-30, 0, false), 3},
          {"large_eps", {{5, 3}, {5, 3}, {5, 33}}, {uniform(-1, 1), binary(0.5), loguniform(0.1, 3)},
           mix_params(0.25, 0.5, true), 3}};
}
std::vector<TestCase> mix_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    v.push_back({"N" + std::to_string(n) + "_K2_L11", {{n, 2}, {n, 2}, {n, 22}},
                 {uniform(), binary(0.8), uniform()}, mix_params(1e-30, 1e-30, false), 2});
  return v;
}

// ---- pick_cols: x (N,F), codes (N) i32 -> y (N) = x[n, codes[n]] ----

void pick_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  expect_rank("pick_cols", "x", in[0], 2);
  expect_float("pick_cols", "x", in[0]);
  expect_rank("pick_cols", "codes", in[1], 1);
  CUVI_CHECK(in[1].dtype == DType::I32, "pick_cols: codes must be i32, got " + in[1].str());
  CUVI_CHECK(in[1].dim(0) == in[0].dim(0) && in[0].dim(1) > 0,
             "pick_cols: codes " + in[1].shape.str() + " must have one entry per row of x " + in[0].shape.str());
  s->out[0] = fspec({in[0].dim(0)});
}

template <class T>
void pick_fwd_cpu(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  const int32_t* c = io.in[1].ptr<int32_t>();
  for (int64_t n = 0; n < N; ++n)
    CUVI_CHECK(c[n] >= 0 && c[n] < F, "pick_cols: codes[" + std::to_string(n) + "] = " + std::to_string(c[n]) +
                                          " is outside the " + std::to_string(F) + " columns");
  cpu::pick_cols_fwd<T>(in_ptr<T>(io, 0), c, out_ptr<T>(io, 0), N, F);
}
template <class T>
void pick_bwd_cpu(const OpIO& io) {
  if (!io.d_in[0].defined()) return;
  if (!io.d_out[0].defined()) return zero_din(io, 0);
  cpu::pick_cols_bwd<T>(in_ptr<int32_t>(io, 1), dout_ptr<T>(io, 0), din_ptr<T>(io, 0), acc(io, 0), io.in[0].dim(0),
                        io.in[0].dim(1));
}
#ifndef CUVI_CPU_ONLY
void pick_fwd_cuda(const OpIO& io) {
  cuda::pick_cols_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<int32_t>(io, 1), out_ptr<float>(io, 0),
                      io.in[0].dim(0), io.in[0].dim(1));
}
void pick_bwd_cuda(const OpIO& io) {
  if (!io.d_in[0].defined()) return;
  if (!io.d_out[0].defined()) return zero_din(io, 0);
  cuda::pick_cols_bwd(stream(io), in_ptr<int32_t>(io, 1), dout_ptr<float>(io, 0), din_ptr<float>(io, 0), acc(io, 0),
                      io.in[0].dim(0), io.in[0].dim(1));
}
#endif
double pick_flops(const Tensor*, const OpParams&) { return 0.0; }
double pick_bytes(const Tensor* in, const OpParams&) { return 12.0 * in[0].dim(0); }

std::vector<TestCase> pick_tests() {
  return {{"batches", {{9, 3}, {9}}, {uniform(), codes(3)}, {}, 1},
          {"wide", {{5, 37}, {5}}, {uniform(), codes(37)}, {}, 1},
          {"one_column", {{4, 1}, {4}}, {uniform(), codes(1)}, {}, 1}};
}
std::vector<TestCase> pick_bench() {
  return {{"N128_B12", {{128, 12}, {128}}, {uniform(), codes(12)}, {}, 1},
          {"N1024_B12", {{1024, 12}, {1024}}, {uniform(), codes(12)}, {}, 1}};
}

// ---- accessibility_log_prob: x (N,R), logits (N,R), d (N,1), f (R) opt -> ll (N) ----

void acc_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  const char* op = "accessibility_log_prob";
  expect_rank(op, "x", in[0], 2);
  expect_float(op, "x", in[0]);
  expect_float(op, "logits", in[1]);
  expect_same(op, "x", in[0], "logits", in[1]);
  const int64_t N = in[0].dim(0), R = in[0].dim(1);
  CUVI_CHECK(R > 0, "accessibility_log_prob: x must have regions, got " + in[0].shape.str());
  expect_float(op, "d", in[2]);
  CUVI_CHECK(in[2].numel() == N && (in[2].ndim() == 1 || (in[2].ndim() == 2 && in[2].dim(1) == 1)),
             "accessibility_log_prob: d must be (N, 1) with the N of x " + in[0].shape.str() + ", got " +
                 in[2].shape.str());
  if (in[3].defined()) {
    expect_float(op, "f", in[3]);
    CUVI_CHECK(in[3].ndim() == 1 && in[3].dim(0) == R,
               "accessibility_log_prob: f must be (R) with the R of x " + in[0].shape.str() + ", got " + in[3].shape.str());
  }
  s->out[0] = fspec({N});
}

template <class T>
void acc_fwd_cpu(const OpIO& io) {
  cpu::accessibility_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), in_ptr<T>(io, 3), out_ptr<T>(io, 0),
                            io.in[0].dim(0), io.in[0].dim(1));
}
template <class T>
void acc_bwd_cpu(const OpIO& io) {
  if (!io.d_out[0].defined()) {
    for (int i : {1, 2, 3}) zero_din(io, i);
    return;
  }
  cpu::accessibility_bwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), in_ptr<T>(io, 3), dout_ptr<T>(io, 0),
                            din_ptr<T>(io, 1), din_ptr<T>(io, 2), din_ptr<T>(io, 3), acc(io, 1), acc(io, 2), acc(io, 3),
                            io.in[0].dim(0), io.in[0].dim(1));
}
#ifndef CUVI_CPU_ONLY
void acc_fwd_cuda(const OpIO& io) {
  cuda::accessibility_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                          in_ptr<float>(io, 3), out_ptr<float>(io, 0), io.in[0].dim(0), io.in[0].dim(1));
}
void acc_bwd_cuda(const OpIO& io) {
  if (!io.d_out[0].defined()) {
    for (int i : {1, 2, 3}) zero_din(io, i);
    return;
  }
  cuda::accessibility_bwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                          in_ptr<float>(io, 3), dout_ptr<float>(io, 0), din_ptr<float>(io, 1), din_ptr<float>(io, 2),
                          din_ptr<float>(io, 3), acc(io, 1), acc(io, 2), acc(io, 3), io.in[0].dim(0), io.in[0].dim(1));
}
#endif
double acc_flops(const Tensor* in, const OpParams&) { return 30.0 * in[0].numel(); }
double acc_bytes(const Tensor* in, const OpParams&) { return 8.0 * in[0].numel(); }

std::vector<TestCase> acc_tests() {
  return {{"with_region_factors", {{5, 37}, {5, 37}, {5, 1}, {37}}, {counts(3), uniform(-3, 3), probs(0.05, 0.95), uniform(-2, 2)}, {}, 37},
          {"without_region_factors", {{7, 19}, {7, 19}, {7, 1}, {19}}, {counts(2), uniform(-3, 3), probs(0.05, 0.95), absent()}, {}, 19},
          {"wide", {{3, 300}, {3, 300}, {3, 1}, {300}}, {counts(1), uniform(-4, 4), probs(0.05, 0.95), uniform(-2, 2)}, {}, 300}};
}
std::vector<TestCase> acc_bench() {
  std::vector<TestCase> v;
  for (int64_t r : {25000, 100000, 200000})
    v.push_back({"N128_R" + std::to_string(r), {{128, r}, {128, r}, {128, 1}, {r}},
                 {counts(1), uniform(-4, 4), probs(), uniform(-1, 1)}, {}, r});
  return v;
}

}  // namespace

void register_multimodal_ops(Registry& r) {
  {
    OpDef d;
    d.name = "accessibility_log_prob";
    d.n_in = 4;
    d.diff_inputs = 0b1110;
    d.shapes = acc_shapes;
    CUVI_CPU_KERNELS(d, acc_fwd_cpu, acc_bwd_cpu);
    d.cuda_fwd = CUVI_CUDA_FN(acc_fwd_cuda);
    d.cuda_bwd = CUVI_CUDA_FN(acc_bwd_cuda);
    d.flops = acc_flops;
    d.bytes = acc_bytes;
    d.test_cases = acc_tests;
    d.bench_cases = acc_bench;
    d.tol = Tol::Reduction;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "mix_modalities";
    d.n_in = 3;
    d.n_aux = 1;
    d.diff_inputs = 0b101;
    d.shapes = mix_shapes;
    CUVI_CPU_KERNELS(d, mix_fwd_cpu, mix_bwd_cpu);
    d.cuda_fwd = CUVI_CUDA_FN(mix_fwd_cuda);
    d.cuda_bwd = CUVI_CUDA_FN(mix_bwd_cuda);
    d.flops = mix_flops;
    d.bytes = mix_bytes;
    d.test_cases = mix_tests;
    d.bench_cases = mix_bench;
    d.tol = Tol::Transcendental;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "pick_cols";
    d.n_in = 2;
    d.diff_inputs = 0b01;
    d.shapes = pick_shapes;
    CUVI_CPU_KERNELS(d, pick_fwd_cpu, pick_bwd_cpu);
    d.cuda_fwd = CUVI_CUDA_FN(pick_fwd_cuda);
    d.cuda_bwd = CUVI_CUDA_FN(pick_bwd_cuda);
    d.flops = pick_flops;
    d.bytes = pick_bytes;
    d.test_cases = pick_tests;
    d.bench_cases = pick_bench;
    d.tol = Tol::Elementwise;
    r.add(d);
  }
}

}  // namespace cuvi::ops
