// Op px_log_prob: SCVI's fused likelihood tail (spec scvi-multivi §1.3 step 5, §1.4) — softmax of the
// px_scale logits (+ the head's bias), px_rate = exp(library) px_scale, theta = exp(px_r), NB or ZINB log-prob
// per row; the forward also saves every gradient of it, so the backward only scales them (DESIGN.md decision 2).
#include "engine/ops/op_util.h"
#include "kernels/cpu/px_likelihood.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/px_likelihood.h"
#endif

namespace cuvi::ops {
namespace {

// Inputs: x (N,G) counts, logits (N,G), library (N,1) or (N) log library, px_r (N,G) or (G) log theta,
// pi (N,G) dropout logits (optional: absent = NB), b_logits (G) and b_pi (G) optional per-gene biases added to
// logits and pi (the decoder heads' biases: no separate bias pass over (N,G) either way). Output ll (N). Params: f0 eps (0 selects scvi's 1e-8),
// i0 = 1: value only (evaluation: no gradients saved, and no backward allowed).
// Aux: 0 g_logits (N,G), 1 g_log_theta (N,G), 2 g_pi (N,G) or (1), 3 g_library (N).
void shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  const char* op = "px_log_prob";
  expect_rank(op, "x", in[0], 2);
  expect_float(op, "x", in[0]);
  const int64_t N = in[0].dim(0), G = in[0].dim(1);
  const char* names[7] = {"x", "logits", "library", "px_r", "pi", "b_logits", "b_pi"};
  for (int i = 1; i < 7; ++i) {
    if (!in[i].defined()) {
      CUVI_CHECK(i >= 4, std::string(op) + ": missing input " + names[i]);
      continue;
    }
    expect_float(op, names[i], in[i]);
    CUVI_CHECK(in[i].dtype == in[0].dtype, std::string(op) + ": " + names[i] + " is " + dtype_name(in[i].dtype) +
                                               " but x is " + dtype_name(in[0].dtype));
    CUVI_CHECK(in[i].is_contiguous(), std::string(op) + ": " + names[i] + " must be contiguous");
  }
  const std::string grid = "(" + std::to_string(N) + ", " + std::to_string(G) + ")";
  expect_same(op, "x", in[0], "logits", in[1]);
  if (in[4].defined()) expect_same(op, "x", in[0], "pi", in[4]);
  CUVI_CHECK(in[2].numel() == N && (in[2].ndim() == 1 || (in[2].ndim() == 2 && in[2].dim(1) == 1)),
             std::string(op) + ": library must be (" + std::to_string(N) + ", 1) or (" + std::to_string(N) +
                 "), got " + in[2].shape.str());
  for (int i = 5; i < 7; ++i)
    CUVI_CHECK(!in[i].defined() || (in[i].ndim() == 1 && in[i].dim(0) == G),
               std::string(op) + ": " + names[i] + " must be (" + std::to_string(G) + "), got " + in[i].shape.str());
  CUVI_CHECK(!in[6].defined() || in[4].defined(), std::string(op) + ": b_pi given without pi");
  const bool r_full = in[3].ndim() == 2 && in[3].dim(0) == N && in[3].dim(1) == G;
  CUVI_CHECK(r_full || (in[3].ndim() == 1 && in[3].dim(0) == G),
             std::string(op) + ": px_r must be " + grid + " or (" + std::to_string(G) + "), got " + in[3].shape.str());
  CUVI_CHECK(p.f[0] >= 0, std::string(op) + ": eps (f0) must be >= 0, got " + std::to_string(p.f[0]));
  CUVI_CHECK(p.i[0] == 0 || p.i[0] == 1, std::string(op) + ": i0 must be 0 (gradients) or 1 (value only)");
  s->out[0] = fspec({N});
  s->aux[0] = fspec({N, G});
  s->aux[1] = fspec({N, G});
  s->aux[2] = in[4].defined() ? fspec({N, G}) : fspec({1});
  s->aux[3] = fspec({N});
}

double eps_of(const OpParams& p) { return p.f[0] > 0 ? p.f[0] : 1e-8; }
bool r_full(const OpIO& io) { return io.in[3].ndim() == 2; }

bool value_only(const OpIO& io) { return io.p->i[0] == 1; }
void expect_gradients_saved(const OpIO& io) {
  CUVI_CHECK(!value_only(io), "px_log_prob: backward of a forward run without gradients (i0 = 1)");
}

template <class T>
void fwd_cpu(const OpIO& io) {
  cpu::px_log_prob_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), in_ptr<T>(io, 3), r_full(io),
                          in_ptr<T>(io, 4), in_ptr<T>(io, 5), in_ptr<T>(io, 6), eps_of(*io.p), !value_only(io), out_ptr<T>(io, 0), aux_ptr<T>(io, 0),
                          aux_ptr<T>(io, 1), aux_ptr<T>(io, 2), aux_ptr<T>(io, 3), io.in[0].dim(0), io.in[0].dim(1));
}
template <class T>
void bwd_cpu(const OpIO& io) {
  expect_gradients_saved(io);
  cpu::px_log_prob_bwd<T>(dout_ptr<T>(io, 0), aux_ptr<T>(io, 0), aux_ptr<T>(io, 1), aux_ptr<T>(io, 2),
                          aux_ptr<T>(io, 3), r_full(io), din_ptr<T>(io, 1), din_ptr<T>(io, 2), din_ptr<T>(io, 3),
                          io.in[4].defined() ? din_ptr<T>(io, 4) : nullptr, din_ptr<T>(io, 5), din_ptr<T>(io, 6),
                          acc(io, 1), acc(io, 2), acc(io, 3), acc(io, 4), acc(io, 5), acc(io, 6), io.in[0].dim(0),
                          io.in[0].dim(1));
}
#ifndef CUVI_CPU_ONLY
void fwd_cuda(const OpIO& io) {
  cuda::px_log_prob_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                        in_ptr<float>(io, 3), r_full(io), in_ptr<float>(io, 4), in_ptr<float>(io, 5),
                        in_ptr<float>(io, 6), static_cast<float>(eps_of(*io.p)),
                        !value_only(io), out_ptr<float>(io, 0), aux_ptr<float>(io, 0), aux_ptr<float>(io, 1), aux_ptr<float>(io, 2),
                        aux_ptr<float>(io, 3), io.in[0].dim(0), io.in[0].dim(1));
}
void bwd_cuda(const OpIO& io) {
  expect_gradients_saved(io);
  cuda::PxGrads d;
  d.logits = din_ptr<float>(io, 1);
  d.library = din_ptr<float>(io, 2);
  d.px_r = din_ptr<float>(io, 3);
  d.pi = io.in[4].defined() ? din_ptr<float>(io, 4) : nullptr;
  d.b_logits = din_ptr<float>(io, 5);
  d.b_pi = din_ptr<float>(io, 6);
  d.acc_logits = acc(io, 1);
  d.acc_library = acc(io, 2);
  d.acc_r = acc(io, 3);
  d.acc_pi = acc(io, 4);
  d.acc_b_logits = acc(io, 5);
  d.acc_b_pi = acc(io, 6);
  cuda::px_log_prob_bwd(stream(io), dout_ptr<float>(io, 0), aux_ptr<float>(io, 0), aux_ptr<float>(io, 1),
                        aux_ptr<float>(io, 2), aux_ptr<float>(io, 3), r_full(io), d, io.in[0].dim(0), io.in[0].dim(1));
}
#endif

// Per element: softmax and rate (2 exp), theta (exp), the NB/ZINB value and gradients (Loader's form:
// 3 stirlerr, 2 bd0, about 6 logs for a count; 2 logs for a zero), the Jacobian fix-up (exp).
double flops(const Tensor* in, const OpParams&) {
  return (in[4].defined() ? 120.0 : 100.0) * static_cast<double>(in[0].numel());
}
double bytes(const Tensor* in, const OpParams&) {
  const double NG = static_cast<double>(in[0].numel());
  const double reads = (in[4].defined() ? 3.0 : 2.0) * NG +
                       static_cast<double>(in[3].numel() + in[2].numel() + (in[5].defined() ? in[5].numel() : 0) +
                                           (in[6].defined() ? in[6].numel() : 0));
  const double writes = (in[4].defined() ? 3.0 : 2.0) * NG + 2.0 * static_cast<double>(in[0].dim(0));
  return 4.0 * (reads + writes);
}

TestCase tc(std::string label, std::vector<Shape> s, std::vector<GenSpec> g, int64_t reduction) {
  return TestCase{std::move(label), std::move(s), std::move(g), {}, reduction};
}

// Logits U(-3, 3), log library in [3, 8] (20..3000 counts) or [7, 11.5] (1e3..1e5), log theta U(-2, 4).
std::vector<TestCase> tests() {
  return {tc("nb_gene_theta", {{5, 37}, {5, 37}, {5, 1}, {37}, {}, {}, {}},
             {counts(60), uniform(-3, 3), uniform(3, 8), uniform(-2, 4), absent(), absent(), absent()}, 37),
          tc("nb_cell_theta", {{7, 45}, {7, 45}, {7, 1}, {7, 45}, {}, {}, {}},
             {counts(200), uniform(-3, 3), uniform(3, 8), uniform(-2, 4), absent(), absent(), absent()}, 45),
          tc("zinb_gene_theta", {{5, 37}, {5, 37}, {5, 1}, {37}, {5, 37}, {}, {}},
             {counts(60), uniform(-3, 3), uniform(3, 8), uniform(-2, 4), uniform(-5, 5), absent(), absent()}, 37),
          tc("zinb_cell_theta_large_counts", {{6, 33}, {6, 33}, {6}, {6, 33}, {6, 33}, {}, {}},
             {counts(20000), uniform(-2, 2), uniform(7, 11.5), uniform(-3, 6), uniform(-8, 8), absent(), absent()}, 33),
          // more genes than the CUDA forward has threads per row: several columns per thread
          tc("nb_wide", {{3, 701}, {3, 701}, {3, 1}, {701}, {}, {}, {}},
             {counts(500), uniform(-4, 4), uniform(6, 10), uniform(-2, 4), absent(), absent(), absent()}, 701),
          // past the CUDA forward's switch to 1024 threads per row
          tc("zinb_many_genes", {{2, 4100}, {2, 4100}, {2, 1}, {4100}, {2, 4100}, {}, {}},
             {counts(3000), uniform(-5, 5), uniform(8, 11), uniform(-2, 4), uniform(-5, 5), absent(), absent()}, 4100),
          // the decoder heads' biases added inside (the SCVI step): ZINB with both, NB with the logits' only
          tc("zinb_head_biases", {{6, 41}, {6, 41}, {6, 1}, {41}, {6, 41}, {41}, {41}},
             {counts(300), uniform(-3, 3), uniform(4, 9), uniform(-2, 4), uniform(-4, 4), uniform(-1, 1), uniform(-2, 2)},
             41),
          tc("nb_cell_theta_logit_bias", {{5, 29}, {5, 29}, {5}, {5, 29}, {}, {29}, {}},
             {counts(100), uniform(-3, 3), uniform(3, 8), uniform(-2, 4), absent(), uniform(-1, 1), absent()}, 29)};
}

std::vector<TestCase> bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t g : {2000, 20000})
      for (bool zi : {false, true})
        v.push_back(tc(std::string(zi ? "zinb" : "nb") + "_N" + std::to_string(n) + "_G" + std::to_string(g),
                       {{n, g}, {n, g}, {n, 1}, {g}, zi ? Shape{n, g} : Shape{}, Shape{g}, zi ? Shape{g} : Shape{}},
                       {counts(1000), uniform(-3, 3), uniform(7, 11.5), uniform(-2, 4),
                        zi ? uniform(-5, 5) : absent(), uniform(-1, 1), zi ? uniform(-1, 1) : absent()},
                       g));
  return v;
}

}  // namespace

void register_px_likelihood_ops(Registry& r) {
  OpDef d;
  d.name = "px_log_prob";
  d.n_in = 7;
  d.n_out = 1;
  d.n_aux = 4;
  d.diff_inputs = 0b1111110;
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
