// Op "elbo_mean": the SCVI-family loss assembly in one op (spec scvi-multivi §1.4, §2.4): loss = mean(rec +
// w KL_z + KL_l) with rec = -(mask log_lik + mask_2 log_lik_2) and w = f0 (times the device kl_weight when i0 = 1),
// plus the per-cell metrics the trainer sums. Inputs: log_lik (N), kl_z (N), kl_l (N) opt, mask (N) opt, log_lik_2
// (N) opt, mask_2 (N) opt (a second modality's likelihood, as MULTIVI's). Outputs: loss (1), reconstruction_loss
// (N) = rec, kl_local (N) = kl_z + kl_l. One launch each way on CUDA (DESIGN.md decision 2).
#include "engine/ops/op_util.h"
#include "kernels/cpu/elbo.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/elbo.h"
#endif

namespace cuvi::ops {
namespace {

void shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  const char* op = "elbo_mean";
  const char* names[6] = {"log_lik", "kl_z", "kl_l", "mask", "log_lik_2", "mask_2"};
  expect_rank(op, "log_lik", in[0], 1);
  const int64_t N = in[0].dim(0);
  CUVI_CHECK(N > 0, "elbo_mean: log_lik is empty");
  CUVI_CHECK(!in[5].defined() || in[4].defined(), "elbo_mean: mask_2 given without log_lik_2");
  for (int i = 0; i < 6; ++i) {
    if (!in[i].defined()) {
      CUVI_CHECK(i >= 2, std::string(op) + ": missing input " + names[i]);
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
  cpu::ElboRec<T> rec;
  rec.log_lik = in_ptr<T>(io, 0);
  rec.mask = in_ptr<T>(io, 3);
  rec.log_lik_2 = in_ptr<T>(io, 4);
  rec.mask_2 = in_ptr<T>(io, 5);
  cpu::elbo_mean_fwd<T>(rec, in_ptr<T>(io, 1), in_ptr<T>(io, 2), kl_factor_cpu(io), out_ptr<T>(io, 0),
                        out_ptr<T>(io, 1), out_ptr<T>(io, 2), io.in[0].dim(0));
}
template <class T>
void bwd_cpu(const OpIO& io) {
  cpu::elbo_mean_bwd<T>(dout_ptr<T>(io, 0), dout_ptr<T>(io, 1), dout_ptr<T>(io, 2), in_ptr<T>(io, 3),
                        in_ptr<T>(io, 5), kl_factor_cpu(io), din_ptr<T>(io, 0), din_ptr<T>(io, 1), din_ptr<T>(io, 2),
                        din_ptr<T>(io, 4), acc(io, 0), acc(io, 1), acc(io, 2), acc(io, 4), io.in[0].dim(0));
}
#ifndef CUVI_CPU_ONLY
// The CUDA kernels read kl_weight through its device address (never copied to the host).
const double* kl_weight_device(const OpIO& io) { return io.p->i[0] == 1 ? &io.ctx->scalars->kl_weight : nullptr; }
void fwd_cuda(const OpIO& io) {
  const cuda::ElboRecInputs rec{in_ptr<float>(io, 0), in_ptr<float>(io, 3), in_ptr<float>(io, 4), in_ptr<float>(io, 5)};
  cuda::elbo_mean_fwd(stream(io), rec, in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                      static_cast<float>(io.p->f[0]), kl_weight_device(io), out_ptr<float>(io, 0),
                      out_ptr<float>(io, 1), out_ptr<float>(io, 2), io.in[0].dim(0));
}
void bwd_cuda(const OpIO& io) {
  cuda::elbo_mean_bwd(stream(io), dout_ptr<float>(io, 0), dout_ptr<float>(io, 1), dout_ptr<float>(io, 2),
                      in_ptr<float>(io, 3), in_ptr<float>(io, 5), static_cast<float>(io.p->f[0]),
                      kl_weight_device(io), din_ptr<float>(io, 0), din_ptr<float>(io, 1), din_ptr<float>(io, 2),
                      din_ptr<float>(io, 4), acc(io, 0), acc(io, 1), acc(io, 2), acc(io, 4), io.in[0].dim(0));
}
#endif

OpParams weight(double f, bool device_kl_weight) {
  OpParams p;
  p.f[0] = f;
  p.i[0] = device_kl_weight ? 1 : 0;
  return p;
}

// Reconstruction losses of a few hundred to thousands of nats, KLs of tens (the SCVI step's scale).
// The masks are 0/1 (a cell has the modality or not), as MULTIVI's and RegularizedVI's.
std::vector<TestCase> tests() {
  const GenSpec no = absent();
  return {{"warmup_with_kl_l", {{37}, {37}, {37}, {}, {}, {}},
           {uniform(-3000, -100), uniform(0, 40), uniform(0, 5), no, no, no}, weight(1.0, true), 37},
          {"constant_weight", {{128}, {128}, {}, {}, {}, {}},
           {uniform(-3000, -100), uniform(0, 40), no, no, no, no}, weight(0.35, false), 128},
          {"one_cell", {{1}, {1}, {1}, {}, {}, {}}, {uniform(-50, -1), uniform(0, 4), uniform(0, 4), no, no, no},
           weight(1.0, true), 1},
          // more cells than the forward block has threads: several per thread before the tree
          {"many_cells", {{1031}, {1031}, {}, {}, {}, {}},
           {uniform(-2000, -10), uniform(0, 30), no, no, no, no}, weight(1.0, true), 1031},
          // MULTIVI: two masked modalities (expression, accessibility) and the pair penalty as KL_l
          {"two_masked_modalities", {{77}, {77}, {77}, {77}, {77}, {77}},
           {uniform(-2000, -100), uniform(0, 30), uniform(0, 10), binary(0.7), uniform(-3000, -100), binary(0.6)},
           weight(1.0, true), 77},
          // one mask only, the second term unmasked; no KL_l
          {"one_mask_second_term", {{300}, {300}, {}, {300}, {300}, {}},
           {uniform(-500, -10), uniform(0, 20), no, binary(0.5), uniform(-800, -10), no}, weight(0.5, false), 300},
          // a masked single term (RegularizedVI's modality with its mask)
          {"masked_single_term", {{65}, {65}, {65}, {65}, {}, {}},
           {uniform(-900, -10), uniform(0, 20), uniform(0, 3), binary(0.8), no, no}, weight(1.0, true), 65}};
}

std::vector<TestCase> bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    v.push_back({"N" + std::to_string(n), {{n}, {n}, {}, {}, {}, {}},
                 {uniform(-3000, -100), uniform(0, 40), absent(), absent(), absent(), absent()}, weight(1.0, true), n});
  return v;
}

}  // namespace

void register_elbo_ops(Registry& r) {
  OpDef d;
  d.name = "elbo_mean";
  d.n_in = 6;
  d.n_out = 3;
  d.diff_inputs = 0b010111;  // log_lik, kl_z, kl_l, log_lik_2 (not the masks)
  d.shapes = shapes;
  CUVI_CPU_KERNELS(d, fwd_cpu, bwd_cpu);
  d.cuda_fwd = CUVI_CUDA_FN(fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(bwd_cuda);
  d.flops = [](const Tensor* in, const OpParams&) { return 9.0 * static_cast<double>(in[0].dim(0)); };
  d.bytes = [](const Tensor* in, const OpParams&) {
    double vectors = 4.0;  // log_lik, kl_z in; rec, kl_local out
    for (int i = 2; i < 6; ++i) vectors += in[i].defined() ? 1.0 : 0.0;
    return 4.0 * static_cast<double>(in[0].dim(0)) * vectors;
  };
  d.test_cases = tests;
  d.bench_cases = bench;
  d.tol = Tol::Reduction;
  r.add(d);
}

}  // namespace cuvi::ops
