// Ops normal_rsample, randn_like, keep_mask_like, sample_poisson, sample_nb, sample_zinb (spec
// scvi-multivi §1.3 rsample and dropout, §1.4 posterior-predictive sampling). Draws come from Philox
// addressed by (ctx->seed, ctx->scalars->step, i0 stream, element), identical on both backends.
#include "engine/ops/op_util.h"
#include "kernels/cpu/sampling.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/sampling.h"
#endif

namespace cuvi::ops {
namespace {

// FLOP-equivalents: one Philox 4x32-10 block = 40 (ten rounds of two 32x32 multiplies and xors),
// log/exp/sin/cos/sqrt = 10, lgamma = 20. A Gamma draw takes ~1.05 tries of (normal + uniform + 2 logs),
// a Poisson draw one uniform and ~lam steps below rate 10, ~1.1 PTRS tries (2 uniforms, 3 logs, lgamma) above.
constexpr double kFlopPhilox = 40, kFlopLog = 10, kFlopLgamma = 20;
constexpr double kFlopNormal = kFlopPhilox / 2 + 3 * kFlopLog + 4;  // a block feeds two Box-Muller pairs
constexpr double kFlopUniform = kFlopPhilox / 4 + 2;
constexpr double kFlopGamma = 1.05 * (kFlopNormal + kFlopUniform + 2 * kFlopLog + 12);
constexpr double kFlopPoisson = 1.1 * (2 * kFlopUniform + 3 * kFlopLog + kFlopLgamma + 12);

uint32_t stream_id(const OpParams& p) { return static_cast<uint32_t>(p.i[0]); }
uint32_t host_step(const OpIO& io) { return static_cast<uint32_t>(io.ctx->scalars->step); }
#ifndef CUVI_CPU_ONLY
const int64_t* device_step(const OpIO& io) { return &io.ctx->scalars->step; }  // address only, read on the device
#endif

TestCase tc(std::string label, std::vector<Shape> s, std::vector<GenSpec> g, int64_t reduction = 1) {
  return TestCase{std::move(label), std::move(s), std::move(g), {}, reduction};
}
TestCase with_params(TestCase t, int64_t stream, double f0 = 0) {
  t.p.i[0] = stream;
  t.p.f[0] = f0;
  return t;
}

void check_input(const char* op, const char* what, const Tensor& t, const Tensor& first) {
  expect_float(op, what, t);
  CUVI_CHECK(t.is_contiguous(), std::string(op) + ": " + what + " must be contiguous");
  CUVI_CHECK(t.dtype == first.dtype, std::string(op) + ": " + what + " is " + dtype_name(t.dtype) +
                                         " but the first input is " + dtype_name(first.dtype));
}

// ---------------------------------------------------------------------------------------------------
// normal_rsample: m, v, eps (same shape) -> z = m + sqrt(v) eps.

void rsample_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  const char* op = "normal_rsample";
  CUVI_CHECK(in[0].defined() && in[1].defined() && in[2].defined(), "normal_rsample: m, v and eps are required");
  check_input(op, "m", in[0], in[0]);
  check_input(op, "v", in[1], in[0]);
  check_input(op, "eps", in[2], in[0]);
  expect_same(op, "m", in[0], "v", in[1]);
  expect_same(op, "m", in[0], "eps", in[2]);
  s->out[0] = fspec(in[0].shape);
}
template <class T>
void rsample_fwd_cpu(const OpIO& io) {
  cpu::normal_rsample_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), out_ptr<T>(io, 0), io.in[0].numel());
}
template <class T>
void rsample_bwd_cpu(const OpIO& io) {
  cpu::normal_rsample_bwd<T>(in_ptr<T>(io, 1), in_ptr<T>(io, 2), dout_ptr<T>(io, 0), din_ptr<T>(io, 0),
                             din_ptr<T>(io, 1), acc(io, 0), acc(io, 1), io.in[0].numel());
}
#ifndef CUVI_CPU_ONLY
void rsample_fwd_cuda(const OpIO& io) {
  cuda::normal_rsample_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                           out_ptr<float>(io, 0), io.in[0].numel());
}
void rsample_bwd_cuda(const OpIO& io) {
  cuda::normal_rsample_bwd(stream(io), in_ptr<float>(io, 1), in_ptr<float>(io, 2), dout_ptr<float>(io, 0),
                           din_ptr<float>(io, 0), din_ptr<float>(io, 1), acc(io, 0), acc(io, 1), io.in[0].numel());
}
#endif

// ---------------------------------------------------------------------------------------------------
// randn_like / keep_mask_like: like (any) -> Philox normals / inverted-dropout mask of the same shape.

void like_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  CUVI_CHECK(in[0].defined(), "randn_like/keep_mask_like: missing the `like` input");
  expect_float("randn_like/keep_mask_like", "like", in[0]);
  s->out[0] = fspec(in[0].shape);
}
void keep_shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  CUVI_CHECK(p.f[0] >= 0 && p.f[0] < 1,
             "keep_mask_like: drop probability f0 must be in [0, 1), got " + std::to_string(p.f[0]));
  like_shapes(in, p, s);
}

template <class T>
void randn_cpu(const OpIO& io) {
  cpu::randn_fill<T>(io.ctx->seed, host_step(io), stream_id(*io.p), out_ptr<T>(io, 0), io.out[0].numel());
}
#ifndef CUVI_CPU_ONLY
void randn_cuda(const OpIO& io) {
  cuda::randn_fill(stream(io), io.ctx->seed, device_step(io), stream_id(*io.p), out_ptr<float>(io, 0),
                   io.out[0].numel());
}
#endif
template <class T>
void keep_cpu(const OpIO& io) {
  cpu::keep_mask_fill<T>(io.ctx->seed, host_step(io), stream_id(*io.p), io.p->f[0], out_ptr<T>(io, 0),
                         io.out[0].numel());
}
#ifndef CUVI_CPU_ONLY
void keep_cuda(const OpIO& io) {
  cuda::keep_mask_fill(stream(io), io.ctx->seed, device_step(io), stream_id(*io.p), io.p->f[0],
                       out_ptr<float>(io, 0), io.out[0].numel());
}
#endif

// ---------------------------------------------------------------------------------------------------
// sample_poisson: rate (any) -> counts. sample_nb: mu (N,G), theta (N,G)/(G)/(1). sample_zinb: + pi (N,G).

void poisson_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  CUVI_CHECK(in[0].defined(), "sample_poisson: missing rate");
  check_input("sample_poisson", "rate", in[0], in[0]);
  s->out[0] = fspec(in[0].shape);
}

int theta_mode(const Tensor& theta, int64_t N, int64_t C) {
  if (theta.ndim() == 2 && theta.dim(0) == N && theta.dim(1) == C) return kLikFull;
  if ((theta.ndim() == 1 && theta.dim(0) == C) || (theta.ndim() == 2 && theta.dim(0) == 1 && theta.dim(1) == C))
    return kLikRow;
  return kLikScalar;
}

template <bool Zinb>
void nb_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  const char* op = Zinb ? "sample_zinb" : "sample_nb";
  CUVI_CHECK(in[0].defined() && in[1].defined() && (!Zinb || in[2].defined()),
             std::string(op) + (Zinb ? ": mu, theta and pi are required" : ": mu and theta are required"));
  expect_rank(op, "mu", in[0], 2);
  check_input(op, "mu", in[0], in[0]);
  check_input(op, "theta", in[1], in[0]);
  const int64_t N = in[0].dim(0), C = in[0].dim(1);
  const Tensor& th = in[1];
  const bool ok = (th.ndim() == 2 && th.dim(0) == N && th.dim(1) == C) ||
                  (th.ndim() == 1 && th.dim(0) == C) || (th.ndim() == 2 && th.dim(0) == 1 && th.dim(1) == C) ||
                  (th.numel() == 1 && th.ndim() >= 1 && th.ndim() <= 2);
  CUVI_CHECK(ok, std::string(op) + ": theta must have shape (" + std::to_string(N) + ", " + std::to_string(C) +
                     "), (" + std::to_string(C) + ") or (1) to match mu " + in[0].shape.str() + ", got " +
                     th.shape.str());
  if (Zinb) {
    check_input(op, "pi", in[2], in[0]);
    expect_same(op, "mu", in[0], "pi", in[2]);
  }
  s->out[0] = fspec(in[0].shape);
}

template <class T>
void poisson_cpu(const OpIO& io) {
  cpu::sample_poisson_fill<T>(io.ctx->seed, host_step(io), stream_id(*io.p), in_ptr<T>(io, 0), out_ptr<T>(io, 0),
                              io.in[0].numel());
}
#ifndef CUVI_CPU_ONLY
void poisson_cuda(const OpIO& io) {
  cuda::sample_poisson_fill(stream(io), io.ctx->seed, device_step(io), stream_id(*io.p), in_ptr<float>(io, 0),
                            out_ptr<float>(io, 0), io.in[0].numel());
}
#endif
template <bool Zinb>
struct NbSampler {
  template <class T>
  static void run_cpu(const OpIO& io) {
    const int64_t N = io.in[0].dim(0), C = io.in[0].dim(1);
    cpu::sample_nb_fill<T>(io.ctx->seed, host_step(io), stream_id(*io.p), in_ptr<T>(io, 0), in_ptr<T>(io, 1),
                           theta_mode(io.in[1], N, C), Zinb ? in_ptr<T>(io, 2) : nullptr, out_ptr<T>(io, 0), N, C);
  }
#ifndef CUVI_CPU_ONLY
  static void run_cuda(const OpIO& io) {
    const int64_t N = io.in[0].dim(0), C = io.in[0].dim(1);
    cuda::sample_nb_fill(stream(io), io.ctx->seed, device_step(io), stream_id(*io.p), in_ptr<float>(io, 0),
                         in_ptr<float>(io, 1), theta_mode(io.in[1], N, C), Zinb ? in_ptr<float>(io, 2) : nullptr,
                         out_ptr<float>(io, 0), N, C);
  }
#endif
};

double bytes_in_out(const Tensor* in, int n_in) {
  double b = 4.0 * static_cast<double>(in[0].numel());
  for (int i = 0; i < n_in; ++i)
    if (in[i].defined()) b += 4.0 * static_cast<double>(in[i].numel());
  return b;
}

std::vector<TestCase> gene_bench(std::vector<GenSpec> gens, int64_t stream) {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t g : {2000, 20000}) {
      std::vector<Shape> s(gens.size(), Shape{n, g});
      if (s.size() > 1) s[1] = Shape{g};
      v.push_back(with_params(tc("N" + std::to_string(n) + "_G" + std::to_string(g), s, gens), stream));
    }
  return v;
}
std::vector<TestCase> latent_bench(int n_in, GenSpec g, double f0) {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t h : {10, 128, 512}) {
      std::vector<Shape> s(n_in, Shape{n, h});
      v.push_back(with_params(tc("N" + std::to_string(n) + "_H" + std::to_string(h), s, std::vector<GenSpec>(n_in, g)),
                              3, f0));
    }
  return v;
}

OpDef base(const char* name, int n_in, ShapeFn shapes, Tol tol) {
  OpDef d;
  d.name = name;
  d.n_in = n_in;
  d.n_out = 1;
  d.shapes = shapes;
  d.tol = tol;
  return d;
}

}  // namespace

void register_sampling_ops(Registry& r) {
  {
    OpDef d = base("normal_rsample", 3, rsample_shapes, Tol::Elementwise);
    d.diff_inputs = 0b011;
    CUVI_CPU_KERNELS(d, rsample_fwd_cpu, rsample_bwd_cpu);
    d.cuda_fwd = CUVI_CUDA_FN(rsample_fwd_cuda);
    d.cuda_bwd = CUVI_CUDA_FN(rsample_bwd_cuda);
    d.flops = [](const Tensor* in, const OpParams&) { return (kFlopLog + 2) * static_cast<double>(in[0].numel()); };
    d.bytes = [](const Tensor* in, const OpParams&) { return 16.0 * static_cast<double>(in[0].numel()); };
    d.test_cases = [] {
      return std::vector<TestCase>{
          tc("latent", {{5, 13}, {5, 13}, {5, 13}}, {uniform(-2, 2), loguniform(0.01, 10), uniform(-3, 3)}),
          tc("rank3", {{3, 4, 11}, {3, 4, 11}, {3, 4, 11}}, {uniform(-2, 2), loguniform(0.05, 5), uniform(-3, 3)})};
    };
    d.bench_cases = [] {
      std::vector<TestCase> v;
      for (int64_t n : {128, 1024})
        for (int64_t l : {10, 30})
          v.push_back(tc("N" + std::to_string(n) + "_L" + std::to_string(l), {{n, l}, {n, l}, {n, l}},
                         {uniform(-2, 2), loguniform(0.01, 10), uniform(-3, 3)}));
      return v;
    };
    r.add(d);
  }
  {
    OpDef d = base("randn_like", 1, like_shapes, Tol::Elementwise);
    d.cpu_fwd_f32 = randn_cpu<float>;
    d.cpu_fwd_f64 = randn_cpu<double>;
    d.cuda_fwd = CUVI_CUDA_FN(randn_cuda);
    d.random = true;
    d.grad_check = false;
    d.flops = [](const Tensor* in, const OpParams&) { return kFlopNormal * static_cast<double>(in[0].numel()); };
    d.bytes = [](const Tensor* in, const OpParams&) { return 4.0 * static_cast<double>(in[0].numel()); };
    d.test_cases = [] {
      return std::vector<TestCase>{with_params(tc("vector", {{37}}, {uniform()}), 1),
                                   with_params(tc("matrix", {{5, 13}}, {uniform()}), 2),
                                   with_params(tc("rank3", {{2, 3, 33}}, {uniform()}), 7)};
    };
    d.bench_cases = [] { return latent_bench(1, uniform(), 0); };
    r.add(d);
  }
  {
    OpDef d = base("keep_mask_like", 1, keep_shapes, Tol::Exact);
    d.cpu_fwd_f32 = keep_cpu<float>;
    d.cpu_fwd_f64 = keep_cpu<double>;
    d.cuda_fwd = CUVI_CUDA_FN(keep_cuda);
    d.random = true;
    d.grad_check = false;
    d.flops = [](const Tensor* in, const OpParams&) { return kFlopUniform * static_cast<double>(in[0].numel()); };
    d.bytes = [](const Tensor* in, const OpParams&) { return 4.0 * static_cast<double>(in[0].numel()); };
    d.test_cases = [] {
      return std::vector<TestCase>{with_params(tc("dropout_0.1", {{5, 131}}, {uniform()}), 4, 0.1),
                                   with_params(tc("attention_0.03", {{2, 2, 16, 16}}, {uniform()}), 5, 0.03),
                                   with_params(tc("no_drop", {{3, 7}}, {uniform()}), 6, 0.0)};
    };
    d.bench_cases = [] { return latent_bench(1, uniform(), 0.1); };
    r.add(d);
  }
  {
    OpDef d = base("sample_poisson", 1, poisson_shapes, Tol::Exact);
    d.cpu_fwd_f32 = poisson_cpu<float>;
    d.cpu_fwd_f64 = poisson_cpu<double>;
    d.cuda_fwd = CUVI_CUDA_FN(poisson_cuda);
    d.random = true;
    d.grad_check = false;
    d.flops = [](const Tensor* in, const OpParams&) { return kFlopPoisson * static_cast<double>(in[0].numel()); };
    d.bytes = [](const Tensor* in, const OpParams&) { return bytes_in_out(in, 1); };
    d.test_cases = [] {
      return std::vector<TestCase>{with_params(tc("small_rates", {{5, 37}}, {loguniform(0.01, 9.9)}), 11),
                                   with_params(tc("large_rates", {{3, 41}}, {loguniform(10, 1e6)}), 12),
                                   with_params(tc("mixed", {{7, 19}}, {loguniform(1e-3, 1e4)}), 13)};
    };
    d.bench_cases = [] { return gene_bench({loguniform(0.01, 100)}, 11); };
    r.add(d);
  }
  {
    OpDef d = base("sample_nb", 2, nb_shapes<false>, Tol::Exact);
    d.cpu_fwd_f32 = NbSampler<false>::run_cpu<float>;
    d.cpu_fwd_f64 = NbSampler<false>::run_cpu<double>;
    d.cuda_fwd = CUVI_CUDA_FN(NbSampler<false>::run_cuda);
    d.random = true;
    d.grad_check = false;
    d.flops = [](const Tensor* in, const OpParams&) {
      return (kFlopGamma + kFlopPoisson) * static_cast<double>(in[0].numel());
    };
    d.bytes = [](const Tensor* in, const OpParams&) { return bytes_in_out(in, 2); };
    d.test_cases = [] {
      return std::vector<TestCase>{
          with_params(tc("full_theta", {{5, 37}, {5, 37}}, {loguniform(0.01, 1000), loguniform(0.05, 100)}), 21),
          with_params(tc("gene_theta", {{7, 29}, {29}}, {loguniform(0.1, 100), loguniform(1e-3, 1e4)}), 22)};
    };
    d.bench_cases = [] { return gene_bench({loguniform(0.01, 100), loguniform(0.1, 100)}, 21); };
    r.add(d);
  }
  {
    OpDef d = base("sample_zinb", 3, nb_shapes<true>, Tol::Exact);
    d.cpu_fwd_f32 = NbSampler<true>::run_cpu<float>;
    d.cpu_fwd_f64 = NbSampler<true>::run_cpu<double>;
    d.cuda_fwd = CUVI_CUDA_FN(NbSampler<true>::run_cuda);
    d.random = true;
    d.grad_check = false;
    d.flops = [](const Tensor* in, const OpParams&) {
      return (kFlopGamma + kFlopPoisson + kFlopUniform + kFlopLog) * static_cast<double>(in[0].numel());
    };
    d.bytes = [](const Tensor* in, const OpParams&) { return bytes_in_out(in, 3); };
    d.test_cases = [] {
      return std::vector<TestCase>{
          with_params(tc("full_theta", {{5, 37}, {5, 37}, {5, 37}},
                         {loguniform(0.01, 1000), loguniform(0.05, 100), uniform(-4, 4)}),
                      31),
          with_params(tc("gene_theta", {{7, 29}, {29}, {7, 29}},
                         {loguniform(0.1, 100), loguniform(1e-3, 1e4), uniform(-4, 4)}),
                      32)};
    };
    d.bench_cases = [] { return gene_bench({loguniform(0.01, 100), loguniform(0.1, 100), uniform(-4, 4)}, 31); };
    r.add(d);
  }
}

}  // namespace cuvi::ops
