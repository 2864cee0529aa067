// Op "elbo_mean": the SCVI-family loss assembly in one op (spec scvi-multivi §1.4): loss = mean(-log_lik +
// w KL_z + KL_l) with w = f0 (times the device kl_weight when i0 = 1), plus the per-cell metrics the trainer sums.
// Inputs: log_lik (N), kl_z (N), kl_l (N) opt. Outputs: loss (1), reconstruction_loss (N) = -log_lik, kl_local (N)
// = kl_z + kl_l. One launch each way on CUDA (DESIGN.md decision 2).
#include "engine/ops/op_util.h"
#include "kernels/cpu/elbo.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/elbo.h"
#endif

namespace cuvi::ops {
namespace {

void shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  const char* op = "elbo_mean";
  const char* names[3] = {"log_lik", "kl_z", "kl_l"};
  expect_rank(op, "log_lik", in[0], 1);
  const int64_t N = in[0].dim(0);
  CUVI_CHECK(N > 0, "elbo_mean: log_lik is empty");
  for (int i = 0; i < 3; ++i) {
    if (!in[i].defined()) {
      CUVI_CHECK(i == 2, std::string(op) + ": missing input " + names[i]);
      continue;
    }
    expect_float(op, names[i], in[i]);
    CUVI_CHECK(in[i].ndim() == 1 && in[i].dim(0) == N && in[i].dtype == in[0].dtype && in[i].is_contiguous(),
               std::string(op) + ": " + names[i] + " " + in[i].str() + " must be a contiguous (" + std::to_string(N) +
                   ") vector like log_lik " + in[0].str());
  }
  CUVI_CHECK(p.i[0] == 0 || p.i[0] == 1,
             "elbo_mean: i0 must be 0 (KL_z weight f0) or 1 (f0 times the device kl_weight), got " +
                 std::to_string(p.i[0]));
  s->out[0] = fspec({1});
  s->out[1] = fspec({N});
  s->out[2] = fspec({N});
}

// The CPU reference reads the host-resident step scalars.
double kl_factor_cpu(const OpIO& io) { return io.p->f[0] * (io.p->i[0] == 1 ? io.ctx->scalars->kl_weight : 1.0); }

template <class T>
void fwd_cpu(const OpIO& io) {
  cpu::elbo_mean_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), kl_factor_cpu(io), out_ptr<T>(io, 0),
                        out_ptr<T>(io, 1), out_ptr<T>(io, 2), io.in[0].dim(0));
}
template <class T>
void bwd_cpu(const OpIO& io) {
  cpu::elbo_mean_bwd<T>(dout_ptr<T>(io, 0), dout_ptr<T>(io, 1), dout_ptr<T>(io, 2), kl_factor_cpu(io),
                        din_ptr<T>(io, 0), din_ptr<T>(io, 1), din_ptr<T>(io, 2), acc(io, 0), acc(io, 1), acc(io, 2),
                        io.in[0].dim(0));
}
#ifndef CUVI_CPU_ONLY
// The CUDA kernels read kl_weight through its device address (never copied to the host).
const double* kl_weight_device(const OpIO& io) { return io.p->i[0] == 1 ? &io.ctx->scalars->kl_weight : nullptr; }
void fwd_cuda(const OpIO& io) {
  cuda::elbo_mean_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                      static_cast<float>(io.p->f[0]), kl_weight_device(io), out_ptr<float>(io, 0),
                      out_ptr<float>(io, 1), out_ptr<float>(io, 2), io.in[0].dim(0));
}
void bwd_cuda(const OpIO& io) {
  cuda::elbo_mean_bwd(stream(io), dout_ptr<float>(io, 0), dout_ptr<float>(io, 1), dout_ptr<float>(io, 2),
                      static_cast<float>(io.p->f[0]), kl_weight_device(io), din_ptr<float>(io, 0),
                      din_ptr<float>(io, 1), din_ptr<float>(io, 2), acc(io, 0), acc(io, 1), acc(io, 2),
                      io.in[0].dim(0));
}
#endif

OpParams weight(double f, bool device_kl_weight) {
  OpParams p;
  p.f[0] = f;
  p.i[0] = device_kl_weight ? 1 : 0;
  return p;
}

// Reconstruction losses of a few hundred to thousands of nats, KLs of tens (the SCVI step's scale).
std::vector<TestCase> tests() {
  return {{"warmup_with_kl_l", {{37}, {37}, {37}}, {uniform(-3000, -100), uniform(0, 40), uniform(0, 5)},
           weight(1.0, true), 37},
          {"constant_weight", {{128}, {128}, {}}, {uniform(-3000, -100), uniform(0, 40), absent()}, weight(0.35, false),
           128},
          {"one_cell", {{1}, {1}, {1}}, {uniform(-50, -1), uniform(0, 4), uniform(0, 4)}, weight(1.0, true), 1},
          // more cells than the forward block has threads: several per thread before the tree
          {"many_cells", {{1031}, {1031}, {}}, {uniform(-2000, -10), uniform(0, 30), absent()}, weight(1.0, true),
           1031}};
}

std::vector<TestCase> bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    v.push_back({"N" + std::to_string(n), {{n}, {n}, {}}, {uniform(-3000, -100), uniform(0, 40), absent()},
                 weight(1.0, true), n});
  return v;
}

}  // namespace

void register_elbo_ops(Registry& r) {
  OpDef d;
  d.name = "elbo_mean";
  d.n_in = 3;
  d.n_out = 3;
  d.diff_inputs = 0b111;
  d.shapes = shapes;
  CUVI_CPU_KERNELS(d, fwd_cpu, bwd_cpu);
  d.cuda_fwd = CUVI_CUDA_FN(fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(bwd_cuda);
  d.flops = [](const Tensor* in, const OpParams&) { return 6.0 * static_cast<double>(in[0].dim(0)); };
  d.bytes = [](const Tensor* in, const OpParams&) {
    return 4.0 * static_cast<double>(in[0].dim(0)) * (in[2].defined() ? 5.0 : 4.0);
  };
  d.test_cases = tests;
  d.bench_cases = bench;
  d.tol = Tol::Reduction;
  r.add(d);
}

}  // namespace cuvi::ops
