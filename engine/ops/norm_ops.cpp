// Ops batchnorm (torch BatchNorm1d: batch statistics and running-stat update in training, running
// statistics in eval; spec scvi-multivi.md §0) and layernorm (no, shared or per-category affine; spec mrvi.md §1).
#include <cstring>

#include "engine/ops/op_util.h"
#include "kernels/cpu/norm.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/norm.h"
#endif

namespace cuvi::ops {
namespace {

// Backward with no incoming gradient (treated as zero): overwrite-mode input gradients become 0.
bool zero_grads_without_dout(const OpIO& io) {
  if (io.d_out[0].defined()) return false;
  for (int i = 0; i < io.n_in; ++i) {
    if (!io.d_in[i].defined() || acc(io, i)) continue;
#ifndef CUVI_CPU_ONLY
    if (io.ctx->device == Device::CUDA)
      CUVI_CHECK(cudaMemsetAsync(io.d_in[i].data, 0, io.d_in[i].nbytes(), stream(io)) == cudaSuccess,
                 "cudaMemsetAsync failed zeroing a gradient");
    else
#endif
      std::memset(io.d_in[i].data, 0, io.d_in[i].nbytes());
  }
  return true;
}

// ---- batchnorm: x (N,F), gamma (F), beta (F), running_mean (F), running_var (F) ----
// i0: 1 training, 0 eval; f0 momentum (0 -> 0.01); f1 eps (0 -> 1e-3). Aux: mean (F), inverse std (F).

double bn_momentum(const OpParams& p) { return p.f[0] == 0 ? 0.01 : p.f[0]; }
double bn_eps(const OpParams& p) { return p.f[1] == 0 ? 1e-3 : p.f[1]; }

void bn_shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  expect_rank("batchnorm", "x", in[0], 2);
  expect_float("batchnorm", "x", in[0]);
  const int64_t N = in[0].dim(0), F = in[0].dim(1);
  CUVI_CHECK(N > 0 && F > 0, "batchnorm: x must be non-empty, got " + in[0].shape.str());
  const char* names[] = {"x", "gamma", "beta", "running_mean", "running_var"};
  for (int i = 1; i < 5; ++i) {
    if (!in[i].defined()) {
      CUVI_CHECK(i <= 2, std::string("batchnorm: ") + names[i] + " is required");
      continue;  // gamma/beta absent: no affine
    }
    expect_rank("batchnorm", names[i], in[i], 1);
    CUVI_CHECK(in[i].dim(0) == F && in[i].dtype == in[0].dtype,
               std::string("batchnorm: ") + names[i] + " " + in[i].str() + " must be (" + std::to_string(F) +
                   ") with the dtype of x " + in[0].str());
  }
  CUVI_CHECK(p.i[0] == 0 || p.i[0] == 1, "batchnorm: i0 must be 1 (training) or 0 (eval), got " + std::to_string(p.i[0]));
  CUVI_CHECK(p.i[0] == 0 || N > 1,
             "batchnorm: training needs more than one row per batch, got x " + in[0].shape.str() +
                 " (torch: Expected more than 1 value per channel when training)");
  CUVI_CHECK(bn_momentum(p) > 0 && bn_momentum(p) <= 1 && bn_eps(p) > 0,
             "batchnorm: momentum (f0) must lie in (0, 1] and eps (f1) be positive");
  s->out[0] = fspec(in[0].shape);
  s->aux[0] = fspec({F});
  s->aux[1] = fspec({F});
}

template <class T>
void bn_fwd_cpu(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cpu::batchnorm_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), io.in[3].ptr<T>(), io.in[4].ptr<T>(),
                        out_ptr<T>(io, 0), aux_ptr<T>(io, 0), aux_ptr<T>(io, 1), io.p->i[0] == 1, bn_momentum(*io.p),
                        bn_eps(*io.p), N, F);
}
template <class T>
void bn_bwd_cpu(const OpIO& io) {
  if (zero_grads_without_dout(io)) return;
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cpu::batchnorm_bwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), aux_ptr<T>(io, 0), aux_ptr<T>(io, 1),
                        dout_ptr<T>(io, 0), din_ptr<T>(io, 0), din_ptr<T>(io, 1), din_ptr<T>(io, 2), acc(io, 0),
                        acc(io, 1), acc(io, 2), io.p->i[0] == 1, N, F);
}
#ifndef CUVI_CPU_ONLY
void bn_fwd_cuda(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cuda::batchnorm_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                      io.in[3].ptr<float>(), io.in[4].ptr<float>(), out_ptr<float>(io, 0), aux_ptr<float>(io, 0),
                      aux_ptr<float>(io, 1), io.p->i[0] == 1, float(bn_momentum(*io.p)), float(bn_eps(*io.p)), N, F);
}
void bn_bwd_cuda(const OpIO& io) {
  if (zero_grads_without_dout(io)) return;
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cuda::batchnorm_bwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), aux_ptr<float>(io, 0),
                      aux_ptr<float>(io, 1), dout_ptr<float>(io, 0), din_ptr<float>(io, 0), din_ptr<float>(io, 1),
                      din_ptr<float>(io, 2), acc(io, 0), acc(io, 1), acc(io, 2), io.p->i[0] == 1, N, F);
}
#endif
double bn_flops(const Tensor* in, const OpParams& p) { return (p.i[0] == 1 ? 7.0 : 4.0) * in[0].numel(); }
double bn_bytes(const Tensor* in, const OpParams& p) {
  return 4.0 * ((p.i[0] == 1 ? 3.0 : 2.0) * in[0].numel() + 6.0 * in[0].dim(1));
}

OpParams bn_params(int64_t training, double momentum = 0, double eps = 0) {
  OpParams p;
  p.i[0] = training;
  p.f[0] = momentum;
  p.f[1] = eps;
  return p;
}
std::vector<TestCase> bn_tests() {
  const std::vector<GenSpec> g = {uniform(-2, 2), uniform(0.5, 1.5), uniform(), uniform(), loguniform(0.5, 2)};
  return {
      {"training", {{7, 5}, {5}, {5}, {5}, {5}}, g, bn_params(1), 7},
      {"training_wide", {{5, 37}, {37}, {37}, {37}, {37}}, g, bn_params(1, 0.1, 1e-5), 5},
      {"training_tall", {{45, 3}, {3}, {3}, {3}, {3}}, g, bn_params(1), 45},
      {"eval", {{6, 9}, {9}, {9}, {9}, {9}}, g, bn_params(0), 6},
      {"eval_one_row", {{1, 33}, {33}, {33}, {33}, {33}}, g, bn_params(0), 1},
      {"training_no_affine",
       {{9, 4}, {}, {}, {4}, {4}},
       {uniform(-2, 2), absent(), absent(), uniform(), loguniform(0.5, 2)},
       bn_params(1),
       9},
  };
}
std::vector<TestCase> bn_bench() {
  const std::vector<GenSpec> g = {uniform(), uniform(0.5, 1.5), uniform(), uniform(), loguniform(0.5, 2)};
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t h : {128, 512}) {
      const std::string tag = "N" + std::to_string(n) + "_H" + std::to_string(h);
      v.push_back({"training_" + tag, {{n, h}, {h}, {h}, {h}, {h}}, g, bn_params(1), n});
      v.push_back({"eval_" + tag, {{n, h}, {h}, {h}, {h}, {h}}, g, bn_params(0), n});
    }
  return v;
}

// ---- layernorm: x (N,F), gamma opt (F) or (S,F), beta opt (like gamma), codes opt (N) i32 ----
// f0 eps (0 -> 1e-5). Aux: mean (N), inverse std (N).

double ln_eps(const OpParams& p) { return p.f[0] == 0 ? 1e-5 : p.f[0]; }

// Number of affine rows: 1 for shared (F) gamma/beta (or none), S for per-category (S, F).
int64_t ln_categories(const Tensor* in) {
  for (int i = 1; i <= 2; ++i)
    if (in[i].defined() && in[i].ndim() == 2) return in[i].dim(0);
  return 1;
}

void ln_shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  expect_rank("layernorm", "x", in[0], 2);
  expect_float("layernorm", "x", in[0]);
  const int64_t N = in[0].dim(0), F = in[0].dim(1);
  CUVI_CHECK(N > 0 && F > 0, "layernorm: x must be non-empty, got " + in[0].shape.str());
  const char* names[] = {"x", "gamma", "beta"};
  bool per_category = false;
  for (int i = 1; i <= 2; ++i) {
    if (!in[i].defined()) continue;
    const Tensor& t = in[i];
    CUVI_CHECK(t.dtype == in[0].dtype && t.is_contiguous(),
               std::string("layernorm: ") + names[i] + " " + t.str() + " must be contiguous with the dtype of x");
    const bool shared = t.ndim() == 1 && t.dim(0) == F;
    const bool table = t.ndim() == 2 && t.dim(1) == F && t.dim(0) > 0;
    CUVI_CHECK(shared || table, std::string("layernorm: ") + names[i] + " " + t.shape.str() + " must be (" +
                                    std::to_string(F) + ") or (S, " + std::to_string(F) + ") for x " +
                                    in[0].shape.str());
    per_category = per_category || table;
  }
  if (in[1].defined() && in[2].defined())
    expect_same("layernorm", "gamma", in[1], "beta", in[2]);
  if (per_category) {
    CUVI_CHECK(in[3].defined(), "layernorm: per-category gamma/beta (S, F) need codes (N)");
    expect_rank("layernorm", "codes", in[3], 1);
    CUVI_CHECK(in[3].dtype == DType::I32 && in[3].dim(0) == N,
               "layernorm: codes " + in[3].str() + " must be i32 (" + std::to_string(N) + ")");
  } else {
    CUVI_CHECK(!in[3].defined(), "layernorm: codes are only used with per-category gamma/beta (S, F)");
  }
  CUVI_CHECK(ln_eps(p) > 0, "layernorm: eps (f0) must be positive");
  s->out[0] = fspec(in[0].shape);
  s->aux[0] = fspec({N});
  s->aux[1] = fspec({N});
}

// The CPU path checks the codes before use (cheap); on CUDA an out-of-range code gives a NaN row.
void ln_check_codes(const OpIO& io) {
  if (!io.in[3].defined()) return;
  const int64_t S = ln_categories(io.in), N = io.in[3].dim(0);
  const int32_t* c = io.in[3].ptr<int32_t>();
  for (int64_t n = 0; n < N; ++n)
    CUVI_CHECK(c[n] >= 0 && c[n] < S, "layernorm: codes[" + std::to_string(n) + "] = " + std::to_string(c[n]) +
                                          " is outside [0, " + std::to_string(S) + ")");
}

template <class T>
void ln_fwd_cpu(const OpIO& io) {
  ln_check_codes(io);
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cpu::layernorm_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), in_ptr<int32_t>(io, 3),
                        out_ptr<T>(io, 0), aux_ptr<T>(io, 0), aux_ptr<T>(io, 1), ln_eps(*io.p), N, F);
}
template <class T>
void ln_bwd_cpu(const OpIO& io) {
  if (zero_grads_without_dout(io)) return;
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cpu::layernorm_bwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<int32_t>(io, 3), aux_ptr<T>(io, 0),
                        aux_ptr<T>(io, 1), dout_ptr<T>(io, 0), din_ptr<T>(io, 0), din_ptr<T>(io, 1),
                        din_ptr<T>(io, 2), acc(io, 0), acc(io, 1), acc(io, 2), N, F, ln_categories(io.in));
}
#ifndef CUVI_CPU_ONLY
void ln_fwd_cuda(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cuda::layernorm_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                      in_ptr<int32_t>(io, 3), out_ptr<float>(io, 0), aux_ptr<float>(io, 0), aux_ptr<float>(io, 1),
                      float(ln_eps(*io.p)), N, F, ln_categories(io.in));
}
void ln_bwd_cuda(const OpIO& io) {
  if (zero_grads_without_dout(io)) return;
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cuda::layernorm_bwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<int32_t>(io, 3),
                      aux_ptr<float>(io, 0), aux_ptr<float>(io, 1), dout_ptr<float>(io, 0), din_ptr<float>(io, 0),
                      din_ptr<float>(io, 1), din_ptr<float>(io, 2), acc(io, 0), acc(io, 1), acc(io, 2), N, F,
                      ln_categories(io.in));
}
#endif
double ln_flops(const Tensor* in, const OpParams&) { return 8.0 * in[0].numel(); }
double ln_bytes(const Tensor* in, const OpParams&) {
  double b = 8.0 * in[0].numel() + 8.0 * in[0].dim(0);
  for (int i = 1; i <= 2; ++i)
    if (in[i].defined()) b += 4.0 * in[i].numel();
  return b;
}

OpParams ln_params(double eps) {
  OpParams p;
  p.f[0] = eps;
  return p;
}
std::vector<TestCase> ln_tests() {
  return {
      {"plain", {{5, 7}, {}, {}, {}}, {uniform(-2, 2), absent(), absent(), absent()}, ln_params(0), 7},
      {"affine", {{6, 33}, {33}, {33}, {}}, {uniform(-2, 2), uniform(0.5, 1.5), uniform(), absent()}, ln_params(1e-6), 33},
      {"per_category",
       {{7, 13}, {3, 13}, {3, 13}, {7}},
       {uniform(-2, 2), uniform(0.5, 1.5), uniform(), codes(3)},
       ln_params(1e-6),
       13},
      {"per_category_scale_only",
       {{9, 6}, {4, 6}, {}, {9}},
       {uniform(-2, 2), uniform(0.5, 1.5), absent(), codes(4)},
       ln_params(1e-6),
       9},
      {"one_row", {{1, 45}, {45}, {45}, {}}, {uniform(-2, 2), uniform(0.5, 1.5), uniform(), absent()}, ln_params(0), 45},
      {"wide", {{2, 20000}, {20000}, {20000}, {}}, {uniform(-2, 2), uniform(0.5, 1.5), uniform(), absent()}, ln_params(0), 20000},
  };
}
std::vector<TestCase> ln_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024}) {
    const std::string N = "N" + std::to_string(n);
    for (int64_t h : {128, 512})
      v.push_back({N + "_H" + std::to_string(h) + "_no_affine", {{n, h}, {}, {}, {}},
                   {uniform(), absent(), absent(), absent()}, ln_params(1e-5), h});
    v.push_back({N + "_H128_affine", {{n, 128}, {128}, {128}, {}}, {uniform(), uniform(), uniform(), absent()},
                 ln_params(1e-6), 128});
    v.push_back({N + "_H128_S32_conditional", {{n, 128}, {32, 128}, {32, 128}, {n}},
                 {uniform(), uniform(), uniform(), codes(32)}, ln_params(1e-6), 128});
  }
  return v;
}

}  // namespace

void register_norm_ops(Registry& r) {
  {
    OpDef d;
    d.name = "batchnorm";
    d.n_in = 5;
    d.n_aux = 2;
    d.diff_inputs = 0b00111;
    d.mutated_inputs = 0b11000;  // running_mean, running_var (training)
    d.shapes = bn_shapes;
    CUVI_CPU_KERNELS(d, bn_fwd_cpu, bn_bwd_cpu);
    d.cuda_fwd = CUVI_CUDA_FN(bn_fwd_cuda);
    d.cuda_bwd = CUVI_CUDA_FN(bn_bwd_cuda);
    d.flops = bn_flops;
    d.bytes = bn_bytes;
    d.test_cases = bn_tests;
    d.bench_cases = bn_bench;
    d.tol = Tol::Reduction;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "layernorm";
    d.n_in = 4;
    d.n_aux = 2;
    d.diff_inputs = 0b0111;
    d.shapes = ln_shapes;
    CUVI_CPU_KERNELS(d, ln_fwd_cpu, ln_bwd_cpu);
    d.cuda_fwd = CUVI_CUDA_FN(ln_fwd_cuda);
    d.cuda_bwd = CUVI_CUDA_FN(ln_bwd_cuda);
    d.flops = ln_flops;
    d.bytes = ln_bytes;
    d.test_cases = ln_tests;
    d.bench_cases = ln_bench;
    d.tol = Tol::Reduction;
    r.add(d);
  }
}

}  // namespace cuvi::ops
