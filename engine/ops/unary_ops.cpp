// Ops relu, leaky_relu, gelu, softplus, exp, sigmoid, log1p, log, sqrt, is_positive: y = f(x), any shape.
// Params: f[0] = LeakyReLU slope (default 0.01) or the constant added after exp (var_eps 1e-4).
#include "engine/ops/op_util.h"
#include "kernels/cpu/unary.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/unary.h"
#endif

namespace cuvi::ops {
namespace {

template <int Kind>
double param_a(const OpParams& p) {
  return Kind == kLeakyRelu && p.f[0] == 0 ? 0.01 : p.f[0];
}

void shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  expect_float("unary", "x", in[0]);
  CUVI_CHECK(in[0].is_contiguous(), "unary op: x must be contiguous");
  s->out[0] = fspec(in[0].shape);
}

template <int Kind>
struct Unary {
  template <class T>
  static void fwd_cpu(const OpIO& io) {
    cpu::unary_fwd<T>(Kind, param_a<Kind>(*io.p), in_ptr<T>(io, 0), out_ptr<T>(io, 0), io.in[0].numel());
  }
  template <class T>
  static void bwd_cpu(const OpIO& io) {
    cpu::unary_bwd<T>(Kind, param_a<Kind>(*io.p), in_ptr<T>(io, 0), io.out[0].ptr<T>(), dout_ptr<T>(io, 0),
                      din_ptr<T>(io, 0), acc(io, 0), io.in[0].numel());
  }
#ifndef CUVI_CPU_ONLY
  static void fwd_cuda(const OpIO& io) {
    cuda::unary_fwd(stream(io), Kind, float(param_a<Kind>(*io.p)), in_ptr<float>(io, 0), out_ptr<float>(io, 0),
                    io.in[0].numel());
  }
  static void bwd_cuda(const OpIO& io) {
    cuda::unary_bwd(stream(io), Kind, float(param_a<Kind>(*io.p)), in_ptr<float>(io, 0), io.out[0].ptr<float>(),
                    dout_ptr<float>(io, 0), din_ptr<float>(io, 0), acc(io, 0), io.in[0].numel());
  }
#endif
};

double flops(const Tensor* in, const OpParams&) { return 4.0 * in[0].numel(); }
double bytes(const Tensor* in, const OpParams&) { return 8.0 * in[0].numel(); }

template <int Kind>
std::vector<TestCase> tests_for(GenSpec g, OpParams p = {}) {
  return {{"vector", {{37}}, {g}, p, 1},
          {"matrix", {{5, 13}}, {g}, p, 1},
          {"rank3", {{2, 3, 33}}, {g}, p, 1}};
}

template <int Kind>
void add(Registry& r, const char* name, std::vector<TestCase> (*tests)(), bool kinks) {
  OpDef d;
  d.name = name;
  d.n_in = 1;
  d.diff_inputs = 1;
  d.shapes = shapes;
  d.cpu_fwd_f32 = Unary<Kind>::template fwd_cpu<float>;
  d.cpu_fwd_f64 = Unary<Kind>::template fwd_cpu<double>;
  d.cpu_bwd_f32 = Unary<Kind>::template bwd_cpu<float>;
  d.cpu_bwd_f64 = Unary<Kind>::template bwd_cpu<double>;
  d.cuda_fwd = CUVI_CUDA_FN(Unary<Kind>::fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(Unary<Kind>::bwd_cuda);
  d.flops = flops;
  d.bytes = bytes;
  d.test_cases = tests;
  d.bench_cases = [] {
    return std::vector<TestCase>{{"N128_H128", {{128, 128}}, {uniform()}, {}, 1},
                                 {"N1024_H512", {{1024, 512}}, {uniform()}, {}, 1},
                                 {"N1024_G20000", {{1024, 20000}}, {uniform()}, {}, 1}};
  };
  d.tol = Kind == kRelu || Kind == kLeakyRelu || Kind == kIsPositive ? Tol::Elementwise : Tol::Transcendental;
  d.kinks = kinks;
  r.add(d);
}

}  // namespace

void register_unary_ops(Registry& r) {
  add<kRelu>(r, "relu", [] { return tests_for<kRelu>(nonzero(-3, 3)); }, true);
  add<kLeakyRelu>(r, "leaky_relu", [] { return tests_for<kLeakyRelu>(nonzero(-3, 3)); }, true);
  add<kGelu>(r, "gelu", [] { return tests_for<kGelu>(uniform(-4, 4)); }, false);
  add<kSoftplus>(r, "softplus", [] { return tests_for<kSoftplus>(uniform(-30, 30)); }, true);
  add<kExp>(r, "exp", [] {
    OpParams p;
    p.f[0] = 1e-4;
    return tests_for<kExp>(uniform(-5, 5), p);
  }, false);
  add<kSigmoid>(r, "sigmoid", [] { return tests_for<kSigmoid>(uniform(-12, 12)); }, false);
  add<kLog1p>(r, "log1p", [] { return tests_for<kLog1p>(uniform(-0.5, 50)); }, false);
  add<kLog>(r, "log", [] { return tests_for<kLog>(loguniform(1e-3, 1e3)); }, false);
  add<kSqrt>(r, "sqrt", [] { return tests_for<kSqrt>(loguniform(1e-3, 1e3)); }, false);
  // A step: its derivative is 0 everywhere it exists (finite differences stay off x = 0).
  add<kIsPositive>(r, "is_positive", [] { return tests_for<kIsPositive>(nonzero(-3, 3)); }, true);
}

}  // namespace cuvi::ops
