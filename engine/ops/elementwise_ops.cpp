// Ops add, sub, mul (b broadcast as (N,F), (F), (N,1) or (1)), scale (by f0, times the device kl_weight
// when i0 = 1), concat_cols and slice_cols (engine/ops/README.md catalog; loss assembly, spec scvi-multivi.md §1.5).
#include <cstring>

#include "engine/ops/op_util.h"
#include "kernels/cpu/elementwise.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/reduce.h"
#endif

namespace cuvi::ops {
namespace {

enum BinaryKind : int { kAdd, kSub, kMul };
constexpr const char* kBinaryName[] = {"add", "sub", "mul"};

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

// The (N, F) view of a and the strides that address b: b[n * b_rs + f * b_cs]; b_rs < 0: no broadcast fits.
struct Bcast {
  int64_t N, F, b_rs, b_cs;
};
Bcast bcast(const Tensor* in) {
  const Tensor& a = in[0];
  const Tensor& b = in[1];
  const int64_t N = a.rows(), F = a.cols();
  if (b.shape == a.shape) return {N, F, F, 1};
  if (b.numel() == 1) return {N, F, 0, 0};
  if (a.ndim() == 2 && b.ndim() == 1 && b.dim(0) == F) return {N, F, 0, 1};
  if (a.ndim() == 2 && b.ndim() == 2 && b.dim(0) == N && b.dim(1) == 1) return {N, F, 1, 0};
  return {N, F, -1, -1};
}

template <int Kind>
void binary_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  const std::string op = kBinaryName[Kind];
  CUVI_CHECK(in[0].defined() && in[1].defined(), op + ": needs both a and b");
  expect_float(op.c_str(), "a", in[0]);
  expect_float(op.c_str(), "b", in[1]);
  CUVI_CHECK(in[0].dtype == in[1].dtype, op + ": a " + in[0].str() + " and b " + in[1].str() + " differ in dtype");
  CUVI_CHECK(in[0].ndim() >= 1 && in[0].numel() > 0, op + ": a must be a non-empty tensor, got " + in[0].shape.str());
  CUVI_CHECK(in[0].is_contiguous() && in[1].is_contiguous(), op + ": a and b must be contiguous");
  const Bcast d = bcast(in);
  if (d.b_rs < 0) {
    const std::string expected =
        in[0].ndim() == 2 ? "(N, F), (F), (N, 1) or (1) with a = (N, F)" : "the shape of a or (1)";
    fail(op + ": b " + in[1].shape.str() + " does not broadcast against a " + in[0].shape.str() + "; expected " +
         expected);
  }
  s->out[0] = fspec(in[0].shape);
}

template <int Kind>
struct Binary {
  static double alpha() { return Kind == kSub ? -1.0 : 1.0; }
  template <class T>
  static void fwd_cpu(const OpIO& io) {
    const Bcast d = bcast(io.in);
    if (Kind == kMul)
      cpu::mul_bcast<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), out_ptr<T>(io, 0), d.N, d.F, d.b_rs, d.b_cs);
    else
      cpu::add_bcast<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), out_ptr<T>(io, 0), alpha(), d.N, d.F, d.b_rs, d.b_cs);
  }
  template <class T>
  static void bwd_cpu(const OpIO& io) {
    if (zero_grads_without_dout(io)) return;
    const Bcast d = bcast(io.in);
    if (Kind == kMul)
      cpu::mul_bcast_bwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), dout_ptr<T>(io, 0), din_ptr<T>(io, 0),
                            din_ptr<T>(io, 1), acc(io, 0), acc(io, 1), d.N, d.F, d.b_rs, d.b_cs);
    else
      cpu::add_bcast_bwd<T>(dout_ptr<T>(io, 0), din_ptr<T>(io, 0), din_ptr<T>(io, 1), acc(io, 0), acc(io, 1),
                            alpha(), d.N, d.F, d.b_rs, d.b_cs);
  }
#ifndef CUVI_CPU_ONLY
  static void fwd_cuda(const OpIO& io) {
    const Bcast d = bcast(io.in);
    if (Kind == kMul)
      cuda::mul_bcast(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), out_ptr<float>(io, 0), d.N, d.F,
                      d.b_rs, d.b_cs);
    else
      cuda::add_bcast(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), out_ptr<float>(io, 0),
                      float(alpha()), d.N, d.F, d.b_rs, d.b_cs);
  }
  static void bwd_cuda(const OpIO& io) {
    if (zero_grads_without_dout(io)) return;
    const Bcast d = bcast(io.in);
    float* scratch = io.ctx->workspace_bytes >= cuda::kSumAllScratchBytes ? static_cast<float*>(io.ctx->workspace)
                                                                          : nullptr;
    if (Kind == kMul)
      cuda::mul_bcast_bwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), dout_ptr<float>(io, 0),
                          din_ptr<float>(io, 0), din_ptr<float>(io, 1), acc(io, 0), acc(io, 1), d.N, d.F, d.b_rs,
                          d.b_cs, scratch);
    else
      cuda::add_bcast_bwd(stream(io), dout_ptr<float>(io, 0), din_ptr<float>(io, 0), din_ptr<float>(io, 1),
                          acc(io, 0), acc(io, 1), float(alpha()), d.N, d.F, d.b_rs, d.b_cs, scratch);
  }
#endif
  static double flops(const Tensor* in, const OpParams&) { return double(in[0].numel()); }
  static double bytes(const Tensor* in, const OpParams&) { return 4.0 * (2.0 * in[0].numel() + in[1].numel()); }
};

std::vector<TestCase> binary_tests() {
  return {
      {"full", {{5, 7}, {5, 7}}, {uniform(), uniform()}, {}, 1},
      {"per_feature", {{6, 37}, {37}}, {uniform(), uniform()}, {}, 6},
      {"per_row", {{7, 5}, {7, 1}}, {uniform(), uniform()}, {}, 5},
      {"scalar", {{3, 33}, {1}}, {uniform(), uniform()}, {}, 99},
      {"vector", {{37}, {37}}, {uniform(), uniform()}, {}, 1},
      {"single_row", {{1, 45}, {45}}, {uniform(), uniform()}, {}, 1},
  };
}
std::vector<TestCase> binary_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024}) {
    const std::string N = "N" + std::to_string(n);
    for (int64_t h : {128, 512})
      v.push_back({N + "_H" + std::to_string(h) + "_per_feature", {{n, h}, {h}}, {uniform(), uniform()}, {}, n});
    for (int64_t g : {2000, 20000}) {
      const std::string G = "_G" + std::to_string(g);
      v.push_back({N + G + "_full", {{n, g}, {n, g}}, {uniform(), uniform()}, {}, 1});
      v.push_back({N + G + "_per_row", {{n, g}, {n, 1}}, {uniform(), uniform()}, {}, g});
    }
  }
  return v;
}

template <int Kind>
void add_binary(Registry& r) {
  OpDef d;
  d.name = kBinaryName[Kind];
  d.n_in = 2;
  d.diff_inputs = 0b11;
  d.shapes = binary_shapes<Kind>;
  CUVI_CPU_KERNELS(d, Binary<Kind>::template fwd_cpu, Binary<Kind>::template bwd_cpu);
  d.cuda_fwd = CUVI_CUDA_FN(Binary<Kind>::fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(Binary<Kind>::bwd_cuda);
  d.flops = Binary<Kind>::flops;
  d.bytes = Binary<Kind>::bytes;
  d.test_cases = binary_tests;
  d.bench_cases = binary_bench;
  d.tol = Tol::Reduction;  // the gradient of a broadcast b is a sum
  r.add(d);
}

// ---- scale: y = f0 * x (* kl_weight when i0 = 1) ----

void scale_shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  expect_float("scale", "x", in[0]);
  CUVI_CHECK(in[0].is_contiguous(), "scale: x must be contiguous");
  CUVI_CHECK(p.i[0] == 0 || p.i[0] == 1,
             "scale: i0 must be 0 (y = f0 x) or 1 (y = f0 kl_weight x), got " + std::to_string(p.i[0]));
  s->out[0] = fspec(in[0].shape);
}
// The CPU reference reads the host-resident step scalars.
double scale_factor_cpu(const OpIO& io) {
  return io.p->f[0] * (io.p->i[0] == 1 ? io.ctx->scalars->kl_weight : 1.0);
}
#ifndef CUVI_CPU_ONLY
// The CUDA kernel reads kl_weight itself through its device address (never copied to the host).
const double* kl_weight_device(const OpIO& io) {
  return io.p->i[0] == 1 ? &io.ctx->scalars->kl_weight : nullptr;
}
#endif
template <class T>
void scale_fwd_cpu(const OpIO& io) {
  cpu::scale<T>(in_ptr<T>(io, 0), out_ptr<T>(io, 0), scale_factor_cpu(io), false, io.in[0].numel());
}
template <class T>
void scale_bwd_cpu(const OpIO& io) {
  if (zero_grads_without_dout(io) || !din_ptr<T>(io, 0)) return;
  cpu::scale<T>(dout_ptr<T>(io, 0), din_ptr<T>(io, 0), scale_factor_cpu(io), acc(io, 0), io.in[0].numel());
}
#ifndef CUVI_CPU_ONLY
void scale_fwd_cuda(const OpIO& io) {
  cuda::scale(stream(io), in_ptr<float>(io, 0), out_ptr<float>(io, 0), io.p->f[0], kl_weight_device(io), false,
              io.in[0].numel());
}
void scale_bwd_cuda(const OpIO& io) {
  if (zero_grads_without_dout(io) || !din_ptr<float>(io, 0)) return;
  cuda::scale(stream(io), dout_ptr<float>(io, 0), din_ptr<float>(io, 0), io.p->f[0], kl_weight_device(io),
              acc(io, 0), io.in[0].numel());
}
#endif
std::vector<TestCase> scale_tests() {
  OpParams constant, warmup;
  constant.f[0] = 0.37;
  warmup.f[0] = -1.5;
  warmup.i[0] = 1;
  return {{"constant", {{5, 7}}, {uniform()}, constant, 1},
          {"kl_weight", {{3, 2, 11}}, {uniform()}, warmup, 1},
          {"vector", {{37}}, {uniform()}, warmup, 1}};
}
std::vector<TestCase> scale_bench() {
  OpParams warmup;
  warmup.f[0] = 1.0;
  warmup.i[0] = 1;
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024}) {
    v.push_back({"kl_N" + std::to_string(n), {{n}}, {uniform()}, warmup, 1});
    for (int64_t g : {2000, 20000})
      v.push_back({"N" + std::to_string(n) + "_G" + std::to_string(g), {{n, g}}, {uniform()}, warmup, 1});
  }
  return v;
}

// ---- concat_cols: y = [a, b] ----

void concat_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  expect_rank("concat_cols", "a", in[0], 2);
  expect_rank("concat_cols", "b", in[1], 2);
  expect_float("concat_cols", "a", in[0]);
  expect_float("concat_cols", "b", in[1]);
  CUVI_CHECK(in[0].dtype == in[1].dtype, "concat_cols: a " + in[0].str() + " and b " + in[1].str() + " differ in dtype");
  CUVI_CHECK(in[0].dim(0) == in[1].dim(0), "concat_cols: a " + in[0].shape.str() + " and b " + in[1].shape.str() +
                                               " have different numbers of rows");
  s->out[0] = fspec({in[0].dim(0), in[0].dim(1) + in[1].dim(1)});
}
template <class T>
void concat_fwd_cpu(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), A = io.in[0].dim(1), B = io.in[1].dim(1);
  cpu::copy_cols<T>(in_ptr<T>(io, 0), A, 0, out_ptr<T>(io, 0), A + B, 0, N, A, false);
  cpu::copy_cols<T>(in_ptr<T>(io, 1), B, 0, out_ptr<T>(io, 0), A + B, A, N, B, false);
}
template <class T>
void concat_bwd_cpu(const OpIO& io) {
  if (zero_grads_without_dout(io)) return;
  const int64_t N = io.in[0].dim(0), A = io.in[0].dim(1), B = io.in[1].dim(1);
  if (T* da = din_ptr<T>(io, 0)) cpu::copy_cols<T>(dout_ptr<T>(io, 0), A + B, 0, da, A, 0, N, A, acc(io, 0));
  if (T* db = din_ptr<T>(io, 1)) cpu::copy_cols<T>(dout_ptr<T>(io, 0), A + B, A, db, B, 0, N, B, acc(io, 1));
}
#ifndef CUVI_CPU_ONLY
void concat_fwd_cuda(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), A = io.in[0].dim(1), B = io.in[1].dim(1);
  cuda::copy_cols(stream(io), in_ptr<float>(io, 0), A, 0, out_ptr<float>(io, 0), A + B, 0, N, A, false);
  cuda::copy_cols(stream(io), in_ptr<float>(io, 1), B, 0, out_ptr<float>(io, 0), A + B, A, N, B, false);
}
void concat_bwd_cuda(const OpIO& io) {
  if (zero_grads_without_dout(io)) return;
  const int64_t N = io.in[0].dim(0), A = io.in[0].dim(1), B = io.in[1].dim(1);
  if (float* da = din_ptr<float>(io, 0))
    cuda::copy_cols(stream(io), dout_ptr<float>(io, 0), A + B, 0, da, A, 0, N, A, acc(io, 0));
  if (float* db = din_ptr<float>(io, 1))
    cuda::copy_cols(stream(io), dout_ptr<float>(io, 0), A + B, A, db, B, 0, N, B, acc(io, 1));
}
#endif
std::vector<TestCase> concat_tests() {
  return {{"latent_and_covariates", {{5, 3}, {5, 8}}, {uniform(), uniform()}, {}, 1},
          {"one_column", {{1, 33}, {1, 1}}, {uniform(), uniform()}, {}, 1},
          {"wide", {{3, 70}, {3, 45}}, {uniform(), uniform()}, {}, 1}};
}
std::vector<TestCase> concat_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024}) {
    v.push_back({"N" + std::to_string(n) + "_latent10_cont5", {{n, 10}, {n, 5}}, {uniform(), uniform()}, {}, 1});
    for (int64_t h : {128, 512})
      v.push_back({"N" + std::to_string(n) + "_H" + std::to_string(h), {{n, h}, {n, h}}, {uniform(), uniform()}, {}, 1});
  }
  return v;
}

// ---- slice_cols: y = x[:, i0 : i0 + i1] ----

void slice_shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  expect_rank("slice_cols", "x", in[0], 2);
  expect_float("slice_cols", "x", in[0]);
  const int64_t start = p.i[0], len = p.i[1], F = in[0].dim(1);
  CUVI_CHECK(start >= 0 && len >= 1 && start + len <= F,
             "slice_cols: columns [" + std::to_string(start) + ", " + std::to_string(start + len) +
                 ") (i0 start, i1 len) are not a non-empty range inside x " + in[0].shape.str());
  s->out[0] = fspec({in[0].dim(0), len});
}
template <class T>
void slice_fwd_cpu(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1), start = io.p->i[0], len = io.p->i[1];
  cpu::copy_cols<T>(in_ptr<T>(io, 0), F, start, out_ptr<T>(io, 0), len, 0, N, len, false);
}
template <class T>
void slice_bwd_cpu(const OpIO& io) {
  if (zero_grads_without_dout(io) || !din_ptr<T>(io, 0)) return;
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cpu::slice_cols_bwd<T>(dout_ptr<T>(io, 0), din_ptr<T>(io, 0), io.p->i[0], io.p->i[1], acc(io, 0), N, F);
}
#ifndef CUVI_CPU_ONLY
void slice_fwd_cuda(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1), start = io.p->i[0], len = io.p->i[1];
  cuda::copy_cols(stream(io), in_ptr<float>(io, 0), F, start, out_ptr<float>(io, 0), len, 0, N, len, false);
}
void slice_bwd_cuda(const OpIO& io) {
  if (zero_grads_without_dout(io) || !din_ptr<float>(io, 0)) return;
  const int64_t N = io.in[0].dim(0), F = io.in[0].dim(1);
  cuda::slice_cols_bwd(stream(io), dout_ptr<float>(io, 0), din_ptr<float>(io, 0), io.p->i[0], io.p->i[1],
                       acc(io, 0), N, F);
}
#endif
OpParams slice_params(int64_t start, int64_t len) {
  OpParams p;
  p.i[0] = start;
  p.i[1] = len;
  return p;
}
std::vector<TestCase> slice_tests() {
  return {{"middle", {{5, 13}}, {uniform()}, slice_params(3, 7), 1},
          {"whole", {{3, 40}}, {uniform()}, slice_params(0, 40), 1},
          {"last_column", {{2, 9}}, {uniform()}, slice_params(8, 1), 1}};
}
std::vector<TestCase> slice_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t g : {2000, 20000})
      v.push_back({"N" + std::to_string(n) + "_G" + std::to_string(g) + "_half", {{n, g}}, {uniform()},
                   slice_params(g / 4, g / 2), 1});
  return v;
}

double copy_flops(const Tensor*, const OpParams&) { return 0.0; }
double concat_bytes(const Tensor* in, const OpParams&) { return 8.0 * (in[0].numel() + in[1].numel()); }
double slice_bytes(const Tensor* in, const OpParams& p) { return 8.0 * in[0].dim(0) * p.i[1]; }
double scale_flops(const Tensor* in, const OpParams&) { return double(in[0].numel()); }
double scale_bytes(const Tensor* in, const OpParams&) { return 8.0 * in[0].numel(); }

void add_op(Registry& r, const char* name, int n_in, uint32_t diff, ShapeFn shapes, KernelFn f32, KernelFn f64,
            KernelFn b32, KernelFn b64, KernelFn cf, KernelFn cb, double (*flops)(const Tensor*, const OpParams&),
            double (*bytes)(const Tensor*, const OpParams&), std::vector<TestCase> (*tests)(),
            std::vector<TestCase> (*bench)(), Tol tol) {
  OpDef d;
  d.name = name;
  d.n_in = n_in;
  d.diff_inputs = diff;
  d.shapes = shapes;
  d.cpu_fwd_f32 = f32;
  d.cpu_fwd_f64 = f64;
  d.cpu_bwd_f32 = b32;
  d.cpu_bwd_f64 = b64;
  d.cuda_fwd = cf;
  d.cuda_bwd = cb;
  d.flops = flops;
  d.bytes = bytes;
  d.test_cases = tests;
  d.bench_cases = bench;
  d.tol = tol;
  r.add(d);
}

}  // namespace

void register_elementwise_ops(Registry& r) {
  add_binary<kAdd>(r);
  add_binary<kSub>(r);
  add_binary<kMul>(r);
  add_op(r, "scale", 1, 0b1, scale_shapes, scale_fwd_cpu<float>, scale_fwd_cpu<double>, scale_bwd_cpu<float>,
         scale_bwd_cpu<double>, CUVI_CUDA_FN(scale_fwd_cuda), CUVI_CUDA_FN(scale_bwd_cuda), scale_flops, scale_bytes,
         scale_tests, scale_bench, Tol::Elementwise);
  add_op(r, "concat_cols", 2, 0b11, concat_shapes, concat_fwd_cpu<float>, concat_fwd_cpu<double>,
         concat_bwd_cpu<float>, concat_bwd_cpu<double>, CUVI_CUDA_FN(concat_fwd_cuda), CUVI_CUDA_FN(concat_bwd_cuda),
         copy_flops, concat_bytes, concat_tests, concat_bench, Tol::Exact);
  add_op(r, "slice_cols", 1, 0b1, slice_shapes, slice_fwd_cpu<float>, slice_fwd_cpu<double>, slice_bwd_cpu<float>,
         slice_bwd_cpu<double>, CUVI_CUDA_FN(slice_fwd_cuda), CUVI_CUDA_FN(slice_bwd_cuda), copy_flops, slice_bytes,
         slice_tests, slice_bench, Tol::Exact);
}

}  // namespace cuvi::ops
