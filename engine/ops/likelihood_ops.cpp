// Ops nb_log_prob, zinb_log_prob, poisson_log_prob, bernoulli_log_prob, gamma_poisson_log_prob,
// normal_log_prob, lognormal_log_prob, gamma_log_prob, kl_normal, mog_log_prob: per-row sums (N) of
// log-densities (spec scvi-multivi §0, §1.4; regularizedvi §5-6; mrvi §2), element math in double.
#include "engine/ops/op_util.h"
#include "kernels/cpu/likelihood.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/likelihood.h"
#endif

namespace cuvi::ops {
namespace {

// FLOP-equivalents per element: lgamma and digamma count as 20, log/exp/log1p/expm1 as 10, the digamma
// difference of the NB theta gradient as 60 (a short sum of log1pmx terms or the 7-term series).
constexpr double kFlopLgamma = 20, kFlopLog = 10;

// One elementwise likelihood op: its kind, inputs and which of them may broadcast over rows.
struct LikSpec {
  const char* name;
  int kind;
  int n_in;
  const char* names[4];
  uint32_t bcast;     // bit i: input i may be (C) or (1) instead of (N, C)
  uint32_t optional;  // bit i: input i may be absent
  uint32_t diff;      // bit i: input i is differentiable
  double dflt[4];     // value of an absent input
  double fwd_flops, bwd_flops;  // per element
};

constexpr LikSpec kSpecs[] = {
    {"nb_log_prob", kLikNB, 3, {"x", "mu", "theta", ""}, 0b100, 0, 0b110, {0, 0, 0, 0},
     3 * kFlopLgamma + 2 * kFlopLog + 6, 60 + 3 * kFlopLog + 12},
    {"zinb_log_prob", kLikZINB, 4, {"x", "mu", "theta", "pi"}, 0b0100, 0, 0b1110, {0, 0, 0, 0},
     3 * kFlopLgamma + 5 * kFlopLog + 10, 60 + 6 * kFlopLog + 16},
    {"poisson_log_prob", kLikPoisson, 2, {"x", "rate", "", ""}, 0, 0, 0b10, {0, 0, 0, 0},
     kFlopLgamma + kFlopLog + 3, 3},
    {"bernoulli_log_prob", kLikBernoulli, 2, {"target", "p", "", ""}, 0, 0, 0b10, {0, 0, 0, 0},
     2 * kFlopLog + 5, 6},
    {"gamma_poisson_log_prob", kLikGammaPoisson, 3, {"x", "mu", "theta", ""}, 0b100, 0, 0b110, {0, 0, 0, 0},
     3 * kFlopLgamma + 2 * kFlopLog + 6, 60 + 3 * kFlopLog + 12},
    {"normal_log_prob", kLikNormal, 3, {"x", "loc", "scale", ""}, 0b110, 0, 0b111, {0, 0, 0, 0},
     kFlopLog + 6, 8},
    {"lognormal_log_prob", kLikLogNormal, 3, {"x", "loc", "scale", ""}, 0b110, 0, 0b111, {0, 0, 0, 0},
     2 * kFlopLog + 8, 10},
    {"gamma_log_prob", kLikGamma, 3, {"x", "concentration", "rate", ""}, 0b110, 0, 0b111, {0, 0, 0, 0},
     2 * kFlopLog + kFlopLgamma + 6, 2 * kFlopLog + kFlopLgamma + 6},
    {"kl_normal", kLikKLNormal, 4, {"qm", "qv", "pm", "pv"}, 0b1100, 0b1100, 0b1111, {0, 0, 0, 1},
     kFlopLog + 12, 12},
};
enum SpecId { kNb, kZinb, kPoisson, kBernoulli, kGammaPoisson, kNormal, kLogNormal, kGammaDensity, kKlNormal };

// Broadcast mode of input i against the (N, C) grid of input 0 (the shape rule has validated it).
int bcast_mode(const Tensor& t, int64_t N, int64_t C) {
  if (!t.defined()) return kLikAbsent;
  if (t.ndim() == 2 && t.dim(0) == N && t.dim(1) == C) return kLikFull;
  if ((t.ndim() == 1 && t.dim(0) == C) || (t.ndim() == 2 && t.dim(0) == 1 && t.dim(1) == C)) return kLikRow;
  return kLikScalar;
}

// scvi's eps of nb/zinb: f0, where f0 = 0 (the default OpParams) selects 1e-8. GammaPoisson has none.
template <int S>
double eps_of(const OpParams& p) {
  return (S == kNb || S == kZinb) ? (p.f[0] > 0 ? p.f[0] : 1e-8) : 0.0;
}

std::string shape_list(int64_t N, int64_t C, bool bcast) {
  const std::string full = "(" + std::to_string(N) + ", " + std::to_string(C) + ")";
  return bcast ? full + ", (" + std::to_string(C) + ") or (1)" : full;
}

template <int S>
void shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  const LikSpec& sp = kSpecs[S];
  const std::string op = sp.name;
  expect_rank(sp.name, sp.names[0], in[0], 2);
  expect_float(sp.name, sp.names[0], in[0]);
  const int64_t N = in[0].dim(0), C = in[0].dim(1);
  CUVI_CHECK(C / 128 < 65535, op + ": " + std::to_string(C) + " columns exceed the CUDA grid limit");
  for (int i = 1; i < sp.n_in; ++i) {
    const std::string what = sp.names[i];
    if (!in[i].defined()) {
      CUVI_CHECK(sp.optional >> i & 1u, op + ": missing input " + what);
      continue;
    }
    expect_float(sp.name, sp.names[i], in[i]);
    CUVI_CHECK(in[i].dtype == in[0].dtype, op + ": " + what + " is " + dtype_name(in[i].dtype) + " but " +
                                               sp.names[0] + " is " + dtype_name(in[0].dtype));
    CUVI_CHECK(in[i].is_contiguous(), op + ": " + what + " must be contiguous");
    const bool full = in[i].ndim() == 2 && in[i].dim(0) == N && in[i].dim(1) == C;
    const bool row = (in[i].ndim() == 1 && in[i].dim(0) == C) || (in[i].ndim() == 2 && in[i].dim(0) == 1 && in[i].dim(1) == C);
    const bool scalar = in[i].numel() == 1 && in[i].ndim() >= 1 && in[i].ndim() <= 2;
    const bool may_bcast = sp.bcast >> i & 1u;
    CUVI_CHECK(full || (may_bcast && (row || scalar)), op + ": " + what + " must have shape " +
                                                           shape_list(N, C, may_bcast) + " to match " + sp.names[0] +
                                                           " " + in[0].shape.str() + ", got " + in[i].shape.str());
  }
  if (S == kNb || S == kZinb) CUVI_CHECK(p.f[0] >= 0, op + ": eps (f0) must be >= 0, got " + std::to_string(p.f[0]));
  s->out[0] = fspec({N});
  for (int i = 0; i < sp.n_in; ++i) {
    const int mode = bcast_mode(in[i], N, C);
    const bool partial = (sp.diff >> i & 1u) && (mode == kLikRow || mode == kLikScalar);
    s->aux[i] = partial ? ispec({lik_tiles(N, C), C}, DType::F64) : ispec({1}, DType::F64);
  }
}

template <int S, class T>
LikInputs<T> inputs(const OpIO& io) {
  const LikSpec& sp = kSpecs[S];
  const int64_t N = io.in[0].dim(0), C = io.in[0].dim(1);
  LikInputs<T> r;
  for (int i = 0; i < 4; ++i) {
    const bool present = i < sp.n_in && io.in[i].defined();
    r.p[i] = present ? io.in[i].ptr<T>() : nullptr;
    r.mode[i] = present ? bcast_mode(io.in[i], N, C) : kLikAbsent;
    r.dflt[i] = sp.dflt[i];
  }
  return r;
}

template <int S, class T>
LikGrads<T> grads(const OpIO& io) {
  const LikSpec& sp = kSpecs[S];
  LikGrads<T> g;
  for (int i = 0; i < 4; ++i) {
    const bool on = i < sp.n_in && (sp.diff >> i & 1u) && io.in[i].defined();
    g.d[i] = on ? din_ptr<T>(io, i) : nullptr;
    g.acc[i] = on && acc(io, i);
    g.partial[i] = on ? aux_ptr<double>(io, i) : nullptr;
  }
  return g;
}

template <int S>
struct Lik {
  template <class T>
  static void fwd_cpu(const OpIO& io) {
    cpu::lik_rows_fwd<T>(kSpecs[S].kind, inputs<S, T>(io), eps_of<S>(*io.p), out_ptr<T>(io, 0), io.in[0].dim(0),
                         io.in[0].dim(1));
  }
  template <class T>
  static void bwd_cpu(const OpIO& io) {
    cpu::lik_rows_bwd<T>(kSpecs[S].kind, inputs<S, T>(io), eps_of<S>(*io.p), dout_ptr<T>(io, 0), grads<S, T>(io),
                         io.in[0].dim(0), io.in[0].dim(1));
  }
#ifndef CUVI_CPU_ONLY
  static void fwd_cuda(const OpIO& io) {
    cuda::lik_rows_fwd(stream(io), kSpecs[S].kind, inputs<S, float>(io), eps_of<S>(*io.p), out_ptr<float>(io, 0),
                       io.in[0].dim(0), io.in[0].dim(1));
  }
  static void bwd_cuda(const OpIO& io) {
    cuda::lik_rows_bwd(stream(io), kSpecs[S].kind, inputs<S, float>(io), eps_of<S>(*io.p), dout_ptr<float>(io, 0),
                       grads<S, float>(io), io.in[0].dim(0), io.in[0].dim(1));
  }
#endif
  static double flops(const Tensor* in, const OpParams&) {
    return (kSpecs[S].fwd_flops + 1.0) * static_cast<double>(in[0].numel());
  }
  static double bytes(const Tensor* in, const OpParams&) {
    double b = 4.0 * static_cast<double>(in[0].dim(0));
    for (int i = 0; i < kSpecs[S].n_in; ++i)
      if (in[i].defined()) b += 4.0 * static_cast<double>(in[i].numel());
    return b;
  }
};

// ---------------------------------------------------------------------------------------------------
// Test and bench shapes. Generators keep finite differences meaningful: positive parameters
// log-uniform well away from 0, counts from counts(), probabilities from probs().

TestCase tc(std::string label, std::vector<Shape> s, std::vector<GenSpec> g, int64_t reduction, double f0 = 0) {
  TestCase t{std::move(label), std::move(s), std::move(g), {}, reduction};
  t.p.f[0] = f0;
  return t;
}

std::vector<TestCase> nb_tests() {
  return {tc("full_theta", {{5, 37}, {5, 37}, {5, 37}}, {counts(60), loguniform(0.1, 100), loguniform(0.1, 100)}, 37),
          tc("gene_theta", {{7, 45}, {7, 45}, {45}}, {counts(200), loguniform(0.05, 500), loguniform(0.2, 50)}, 45),
          tc("scalar_theta_eps", {{3, 19}, {3, 19}, {1}}, {counts(30), loguniform(0.5, 50), loguniform(1, 10)}, 19,
             1e-6)};
}
std::vector<TestCase> zinb_tests() {
  return {tc("full_theta", {{5, 37}, {5, 37}, {5, 37}, {5, 37}},
             {counts(60), loguniform(0.1, 100), loguniform(0.1, 100), uniform(-5, 5)}, 37),
          tc("gene_theta", {{9, 33}, {9, 33}, {33}, {9, 33}},
             {counts(200), loguniform(0.05, 500), loguniform(0.2, 50), uniform(-8, 8)}, 33)};
}
std::vector<TestCase> poisson_tests() {
  return {tc("small", {{5, 37}, {5, 37}}, {counts(60), loguniform(0.1, 100)}, 37),
          tc("wide", {{3, 131}, {3, 131}}, {counts(1000), loguniform(0.5, 2000)}, 131)};
}
std::vector<TestCase> bernoulli_tests() {
  return {tc("binary", {{5, 37}, {5, 37}}, {binary(0.3), probs()}, 37),
          tc("soft_targets", {{7, 45}, {7, 45}}, {probs(0.0, 1.0), probs(0.02, 0.98)}, 45)};
}
std::vector<TestCase> density_tests(GenSpec x, GenSpec p1, GenSpec p2) {
  return {tc("full", {{5, 37}, {5, 37}, {5, 37}}, {x, p1, p2}, 37),
          tc("per_column", {{7, 45}, {45}, {45}}, {x, p1, p2}, 45),
          tc("scalar", {{6, 13}, {1}, {13}}, {x, p1, p2}, 13)};
}
std::vector<TestCase> kl_tests() {
  return {tc("standard_prior", {{5, 37}, {5, 37}, {}, {}}, {uniform(-2, 2), loguniform(0.05, 5), absent(), absent()}, 37),
          tc("full_prior", {{7, 11}, {7, 11}, {7, 11}, {7, 11}},
             {uniform(-2, 2), loguniform(0.05, 5), uniform(-1, 1), loguniform(0.2, 3)}, 11),
          tc("per_dim_prior", {{6, 13}, {6, 13}, {13}, {13}},
             {uniform(-2, 2), loguniform(0.05, 5), uniform(-1, 1), loguniform(0.2, 3)}, 13)};
}

std::vector<TestCase> genes_bench(std::vector<GenSpec> gens, bool per_gene_last) {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t g : {2000, 20000}) {
      std::vector<Shape> s(gens.size(), Shape{n, g});
      if (per_gene_last) s[2] = Shape{g};
      v.push_back(tc("N" + std::to_string(n) + "_G" + std::to_string(g), s, gens, g));
    }
  return v;
}

template <int S>
void add(Registry& r, std::vector<TestCase> (*tests)(), std::vector<TestCase> (*bench)()) {
  const LikSpec& sp = kSpecs[S];
  OpDef d;
  d.name = sp.name;
  d.n_in = sp.n_in;
  d.n_out = 1;
  d.n_aux = sp.n_in;
  d.diff_inputs = sp.diff;
  d.shapes = shapes<S>;
  d.cpu_fwd_f32 = Lik<S>::template fwd_cpu<float>;
  d.cpu_fwd_f64 = Lik<S>::template fwd_cpu<double>;
  d.cpu_bwd_f32 = Lik<S>::template bwd_cpu<float>;
  d.cpu_bwd_f64 = Lik<S>::template bwd_cpu<double>;
  d.cuda_fwd = CUVI_CUDA_FN(Lik<S>::fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(Lik<S>::bwd_cuda);
  d.flops = Lik<S>::flops;
  d.bytes = Lik<S>::bytes;
  d.test_cases = tests;
  d.bench_cases = bench;
  d.tol = Tol::Reduction;
  r.add(d);
}

// ---------------------------------------------------------------------------------------------------
// mog_log_prob: u (N,D), logits (K) or (N,K), means (K,D), log_scales (K,D) -> ll (N).
// aux: partials (tiles, K) of logits of shape (K), (tiles, K*D) of means and log_scales.

void mog_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  const char* op = "mog_log_prob";
  expect_rank(op, "u", in[0], 2);
  expect_float(op, "u", in[0]);
  CUVI_CHECK(in[1].defined() && in[2].defined() && in[3].defined(), "mog_log_prob: logits, means and log_scales are required");
  expect_rank(op, "means", in[2], 2);
  const int64_t N = in[0].dim(0), D = in[0].dim(1), K = in[2].dim(0);
  CUVI_CHECK(in[2].dim(1) == D, "mog_log_prob: means " + in[2].shape.str() + " must be (K, " + std::to_string(D) +
                                    ") to match u " + in[0].shape.str());
  expect_same(op, "means", in[2], "log_scales", in[3]);
  CUVI_CHECK((in[1].ndim() == 1 && in[1].dim(0) == K) || (in[1].ndim() == 2 && in[1].dim(0) == N && in[1].dim(1) == K),
             "mog_log_prob: logits must be (" + std::to_string(K) + ") or (" + std::to_string(N) + ", " +
                 std::to_string(K) + "), got " + in[1].shape.str());
  CUVI_CHECK(K >= 1 && K <= cpu::kMogMaxK, "mog_log_prob: the number of components K = " + std::to_string(K) +
                                               " must be in [1, " + std::to_string(cpu::kMogMaxK) + "]");
  for (int i = 1; i < 4; ++i) {
    CUVI_CHECK(in[i].dtype == in[0].dtype, "mog_log_prob: all inputs must have the dtype of u (" +
                                               std::string(dtype_name(in[0].dtype)) + ")");
    CUVI_CHECK(in[i].is_contiguous(), "mog_log_prob: inputs must be contiguous");
  }
  s->out[0] = fspec({N});
  const int64_t tiles = lik_tiles(N, K * D);
  s->aux[0] = in[1].ndim() == 1 ? ispec({tiles, K}, DType::F64) : ispec({1}, DType::F64);
  s->aux[1] = ispec({tiles, K * D}, DType::F64);
  s->aux[2] = ispec({tiles, K * D}, DType::F64);
}

struct MogDims {
  int64_t N, K, D;
  bool rows;
};
MogDims mog_dims(const Tensor* in) { return {in[0].dim(0), in[2].dim(0), in[0].dim(1), in[1].ndim() == 2}; }

template <class T>
void mog_fwd_cpu(const OpIO& io) {
  const MogDims m = mog_dims(io.in);
  cpu::mog_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), m.rows, in_ptr<T>(io, 2), in_ptr<T>(io, 3), out_ptr<T>(io, 0),
                  m.N, m.K, m.D);
}
template <class T>
void mog_bwd_cpu(const OpIO& io) {
  const MogDims m = mog_dims(io.in);
  cpu::mog_bwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), m.rows, in_ptr<T>(io, 2), in_ptr<T>(io, 3), dout_ptr<T>(io, 0),
                  din_ptr<T>(io, 0), din_ptr<T>(io, 1), din_ptr<T>(io, 2), din_ptr<T>(io, 3), acc(io, 0), acc(io, 1),
                  acc(io, 2), acc(io, 3), aux_ptr<double>(io, 0), aux_ptr<double>(io, 1), aux_ptr<double>(io, 2), m.N,
                  m.K, m.D);
}
#ifndef CUVI_CPU_ONLY
void mog_fwd_cuda(const OpIO& io) {
  const MogDims m = mog_dims(io.in);
  cuda::mog_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), m.rows, in_ptr<float>(io, 2),
                in_ptr<float>(io, 3), out_ptr<float>(io, 0), m.N, m.K, m.D);
}
void mog_bwd_cuda(const OpIO& io) {
  const MogDims m = mog_dims(io.in);
  cuda::mog_bwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), m.rows, in_ptr<float>(io, 2),
                in_ptr<float>(io, 3), dout_ptr<float>(io, 0), din_ptr<float>(io, 0), din_ptr<float>(io, 1),
                din_ptr<float>(io, 2), din_ptr<float>(io, 3), acc(io, 0), acc(io, 1), acc(io, 2), acc(io, 3),
                aux_ptr<double>(io, 0), aux_ptr<double>(io, 1), aux_ptr<double>(io, 2), m.N, m.K, m.D);
}
#endif
// Per (n, k, d): one exp and ~8 FLOPs; per (n, k): the logsumexp terms.
double mog_flops(const Tensor* in, const OpParams&) {
  const MogDims m = mog_dims(in);
  return double(m.N) * m.K * (m.D * (kFlopLog + 8) + 2 * kFlopLog + 4);
}
double mog_bytes(const Tensor* in, const OpParams&) {
  const MogDims m = mog_dims(in);
  return 4.0 * (double(m.N) * m.D + in[1].numel() + 2.0 * m.K * m.D + m.N);
}

std::vector<TestCase> mog_tests() {
  return {tc("shared_logits", {{7, 5}, {3}, {3, 5}, {3, 5}}, {uniform(-2, 2), uniform(-1, 1), uniform(-1, 1), uniform(-0.5, 0.5)}, 15),
          tc("per_cell_logits", {{9, 10}, {9, 20}, {20, 10}, {20, 10}},
             {uniform(-2, 2), uniform(-3, 3), uniform(-1, 1), uniform(-0.5, 0.5)}, 200),
          tc("odd", {{33, 3}, {5}, {5, 3}, {5, 3}}, {uniform(-3, 3), uniform(-1, 1), uniform(-2, 2), uniform(-1, 0.5)}, 15)};
}
std::vector<TestCase> mog_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    v.push_back(tc("N" + std::to_string(n) + "_K20_U10", {{n, 10}, {n, 20}, {20, 10}, {20, 10}},
                   {uniform(-2, 2), uniform(-1, 1), uniform(-1, 1), uniform(-0.5, 0.5)}, 200));
  return v;
}

}  // namespace

void register_likelihood_ops(Registry& r) {
  add<kNb>(r, nb_tests, [] {
    return genes_bench({counts(100), loguniform(0.01, 100), loguniform(0.1, 100)}, true);
  });
  add<kZinb>(r, zinb_tests, [] {
    auto v = genes_bench({counts(100), loguniform(0.01, 100), loguniform(0.1, 100), uniform(-5, 5)}, true);
    return v;
  });
  add<kPoisson>(r, poisson_tests, [] { return genes_bench({counts(100), loguniform(0.01, 100)}, false); });
  add<kBernoulli>(r, bernoulli_tests, [] { return genes_bench({binary(0.1), probs()}, false); });
  add<kGammaPoisson>(r, [] {
    auto v = nb_tests();
    v.pop_back();  // no eps parameter in Pyro's form
    return v;
  }, [] { return genes_bench({counts(100), loguniform(0.01, 100), loguniform(0.1, 100)}, true); });
  add<kNormal>(r, [] { return density_tests(uniform(-3, 3), uniform(-1, 1), loguniform(0.3, 3)); },
               [] { return genes_bench({uniform(0, 10), uniform(0, 10), loguniform(0.5, 5)}, true); });
  add<kLogNormal>(r, [] { return density_tests(loguniform(0.1, 10), uniform(-1, 1), loguniform(0.3, 3)); },
                  [] { return genes_bench({loguniform(0.1, 10), uniform(-1, 1), loguniform(0.3, 3)}, true); });
  add<kGammaDensity>(r, [] { return density_tests(loguniform(0.1, 10), loguniform(0.5, 20), loguniform(0.5, 5)); },
                     [] { return genes_bench({loguniform(0.1, 10), loguniform(0.5, 20), loguniform(0.5, 5)}, true); });
  add<kKlNormal>(r, kl_tests, [] {
    std::vector<TestCase> v;
    for (int64_t n : {128, 1024})
      for (int64_t l : {10, 30})
        v.push_back(tc("N" + std::to_string(n) + "_L" + std::to_string(l), {{n, l}, {n, l}, {}, {}},
                       {uniform(-2, 2), loguniform(0.05, 5), absent(), absent()}, l));
    return v;
  });

  OpDef d;
  d.name = "mog_log_prob";
  d.n_in = 4;
  d.n_out = 1;
  d.n_aux = 3;
  d.diff_inputs = 0b1111;
  d.shapes = mog_shapes;
  CUVI_CPU_KERNELS(d, mog_fwd_cpu, mog_bwd_cpu);
  d.cuda_fwd = CUVI_CUDA_FN(mog_fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(mog_bwd_cuda);
  d.flops = mog_flops;
  d.bytes = mog_bytes;
  d.test_cases = mog_tests;
  d.bench_cases = mog_bench;
  d.tol = Tol::Reduction;
  r.add(d);
}

}  // namespace cuvi::ops
