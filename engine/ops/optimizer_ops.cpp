// Op "adam_step": the fused Adam/AdamW update of one contiguous buffer, in place. The optimizer
// (engine/optimizer.cpp) runs the same kernels over a table of segments of the flat buffer.
// Inputs: params (n), grads (n), m (n), v (n). Params: f1 beta1, f2 beta2, f3 eps, f4 weight decay,
// i0 decoupled (AdamW). Learning rate and step come from the backend's step scalars.
#include "engine/ops/op_util.h"
#include "kernels/cpu/adam.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/adam.h"
#endif

namespace cuvi::ops {
namespace {

void shapes(const Tensor* in, const OpParams&, OpShapes*) {
  for (int i = 0; i < 4; ++i) {
    expect_float("adam_step", "buffer", in[i]);
    expect_same("adam_step", "params", in[0], "buffer", in[i]);
  }
}

template <class T>
void fwd_cpu(const OpIO& io) {
  const OpParams& p = *io.p;
  const StepScalars& s = *io.ctx->scalars;
  const AdamConstants c = adam_constants(s.lr, p.f[1], p.f[2], p.f[3], p.f[4], p.i[0] != 0, s.step + 1, 1.0);
  const int64_t seg[2] = {0, io.in[0].numel()};
  cpu::adam_step<T>(c, io.in[0].ptr<T>(), io.in[1].ptr<T>(), io.in[2].ptr<T>(), io.in[3].ptr<T>(), seg, 1);
}

#ifndef CUVI_CPU_ONLY
// The single segment is passed through a segment table in the op's workspace-free path: the kernel
// reads [0, n] from device memory, so this adapter keeps a one-entry table in aux, written by a kernel
// (a copy from host memory would synchronise the stream and could not be captured in the step graph).
void fwd_cuda(const OpIO& io) {
  const OpParams& p = *io.p;
  const int64_t n = io.in[0].numel();
  int64_t* table = io.aux[0].ptr<int64_t>();
  cuda::adam_single_segment(stream(io), table, n);
  StepScalars* s = io.ctx->scalars;
  cuda::AdamHyper h{p.f[1], p.f[2], p.f[3], p.f[4], 0.0, p.i[0] != 0};
  cuda::adam_step(stream(io), h, io.in[0].ptr<float>(), io.in[1].ptr<float>(), io.in[2].ptr<float>(),
                  io.in[3].ptr<float>(), table, 1, n, &s->lr, &s->step, &s->clip_scale, &s->grad_norm,
                  io.ctx->workspace, io.ctx->workspace_bytes, nullptr);
}
#endif

double flops(const Tensor* in, const OpParams&) { return 12.0 * in[0].numel(); }
double bytes(const Tensor* in, const OpParams&) { return 28.0 * in[0].numel(); }

OpParams adam_params(bool decoupled, double wd, double eps) {
  OpParams p;
  p.f[1] = 0.9;
  p.f[2] = 0.999;
  p.f[3] = eps;
  p.f[4] = wd;
  p.i[0] = decoupled;
  return p;
}

std::vector<TestCase> tests() {
  const std::vector<GenSpec> g = {uniform(), uniform(), uniform(-0.1, 0.1), loguniform(1e-6, 1e-2)};
  return {{"adam_scvi", {{1001}, {1001}, {1001}, {1001}}, g, adam_params(false, 1e-6, 0.01), 1},
          {"adamw_multivi", {{77}, {77}, {77}, {77}}, g, adam_params(true, 1e-3, 1e-8), 1}};
}
std::vector<TestCase> bench() {
  const std::vector<GenSpec> g = {uniform(), uniform(), uniform(), loguniform(1e-6, 1e-2)};
  // scVI default (778k parameters) and RegularizedVI production size (21M).
  return {{"scvi_778k", {{778000}, {778000}, {778000}, {778000}}, g, adam_params(false, 1e-6, 0.01), 1},
          {"regvi_21M", {{21000000}, {21000000}, {21000000}, {21000000}}, g, adam_params(false, 1e-6, 0.01), 1}};
}

}  // namespace

void register_optimizer_ops(Registry& r) {
  OpDef d;
  d.name = "adam_step";
  d.n_in = 4;
  d.n_out = 0;
  d.n_aux = 1;
  d.mutated_inputs = 0b1101;
  d.shapes = [](const Tensor* in, const OpParams& p, OpShapes* s) {
    shapes(in, p, s);
    s->aux[0] = ispec({2}, DType::I64);
  };
  d.cpu_fwd_f32 = fwd_cpu<float>;
  d.cpu_fwd_f64 = fwd_cpu<double>;
  d.cuda_fwd = CUVI_CUDA_FN(fwd_cuda);
  d.flops = flops;
  d.bytes = bytes;
  d.test_cases = tests;
  d.bench_cases = bench;
  d.tol = Tol::Elementwise;
  d.grad_check = false;
  r.add(d);
}

}  // namespace cuvi::ops
