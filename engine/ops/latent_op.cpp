// Op "normal_latent": scvi's Gaussian latent middle fused (scvi-multivi.md §1.3 steps 3-4): the encoder's mean and
// variance heads, qz_v = exp(raw) + var_eps, z = qz_m + sqrt(qz_v) eps and KL(q(z|x) || N(0, 1)) per cell.
// Inputs: h (N,H), W_m (L,H), b_m (L) opt, W_v (L,H), b_v (L) opt, eps (N,L) opt (injected noise). Params: f0
// var_eps, i0 Philox stream of the noise (randn_like's draws), i1 1 = sample z, 0 = z is the mean. Outputs: z, qz_m,
// qz_v (N,L), kl (N). Aux: the noise used and exp(raw) (N,L).
#include "engine/ops/op_util.h"
#include "kernels/cpu/latent.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/latent.h"
#endif

namespace cuvi::ops {
namespace {

enum In { kH, kWm, kBm, kWv, kBv, kEps };

cpu::LatentConfig config(const OpParams& p) {
  cpu::LatentConfig c;
  c.var_eps = p.f[0];
  c.stream = uint32_t(p.i[0]);
  c.sample = p.i[1] != 0;
  return c;
}

void shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  const char* op = "normal_latent";
  expect_rank(op, "h", in[kH], 2);
  expect_float(op, "h", in[kH]);
  expect_rank(op, "mean weight", in[kWm], 2);
  expect_rank(op, "var weight", in[kWv], 2);
  const int64_t N = in[kH].dim(0), H = in[kH].dim(1), L = in[kWm].dim(0);
  CUVI_CHECK(in[kWm].dim(1) == H && in[kWv].shape == in[kWm].shape,
             "normal_latent: head weights " + in[kWm].shape.str() + " and " + in[kWv].shape.str() +
                 " must both be (L, H) with H = columns of h " + in[kH].shape.str());
  for (int i : {kBm, kBv})
    if (in[i].defined()) {
      expect_rank(op, "bias", in[i], 1);
      CUVI_CHECK(in[i].dim(0) == L, "normal_latent: bias " + in[i].shape.str() + " must be (" + std::to_string(L) + ")");
    }
  if (in[kEps].defined()) {
    expect_float(op, "eps", in[kEps]);
    CUVI_CHECK(in[kEps].shape == Shape({N, L}), "normal_latent: eps " + in[kEps].shape.str() + " must be " +
                                                    Shape({N, L}).str());
  }
  CUVI_CHECK(p.f[0] >= 0 && (p.i[1] == 0 || p.i[1] == 1), "normal_latent: f0 (var_eps) >= 0, i1 (sample) 0 or 1");
  for (int j = 0; j < 3; ++j) s->out[j] = fspec({N, L});
  s->out[3] = fspec({N});
  s->aux[0] = fspec({N, L});
  s->aux[1] = fspec({N, L});
}

template <class T>
void fwd_cpu(const OpIO& io) {
  const int64_t N = io.in[kH].dim(0), H = io.in[kH].dim(1), L = io.in[kWm].dim(0);
  cpu::normal_latent_fwd<T>(in_ptr<T>(io, kH), in_ptr<T>(io, kWm), in_ptr<T>(io, kBm), in_ptr<T>(io, kWv),
                            in_ptr<T>(io, kBv), in_ptr<T>(io, kEps), out_ptr<T>(io, 0), out_ptr<T>(io, 1),
                            out_ptr<T>(io, 2), out_ptr<T>(io, 3), aux_ptr<T>(io, 0), aux_ptr<T>(io, 1), config(*io.p),
                            io.ctx->seed, uint32_t(io.ctx->scalars->step), N, H, L);
}
template <class T>
void bwd_cpu(const OpIO& io) {
  const int64_t N = io.in[kH].dim(0), H = io.in[kH].dim(1), L = io.in[kWm].dim(0);
  cpu::normal_latent_bwd<T>(in_ptr<T>(io, kH), in_ptr<T>(io, kWm), in_ptr<T>(io, kWv), io.out[1].ptr<T>(),
                            io.out[2].ptr<T>(), aux_ptr<T>(io, 0), aux_ptr<T>(io, 1), dout_ptr<T>(io, 0),
                            dout_ptr<T>(io, 1), dout_ptr<T>(io, 2), dout_ptr<T>(io, 3), din_ptr<T>(io, kH),
                            din_ptr<T>(io, kWm), din_ptr<T>(io, kBm), din_ptr<T>(io, kWv), din_ptr<T>(io, kBv),
                            acc(io, kH), acc(io, kWm), acc(io, kBm), acc(io, kWv), acc(io, kBv), config(*io.p), N, H, L);
}
#ifndef CUVI_CPU_ONLY
void fwd_cuda(const OpIO& io) {
  const int64_t N = io.in[kH].dim(0), H = io.in[kH].dim(1), L = io.in[kWm].dim(0);
  const cpu::LatentConfig c = config(*io.p);
  try {
    cuda::normal_latent_fwd(stream(io), in_ptr<float>(io, kH), in_ptr<float>(io, kWm), in_ptr<float>(io, kBm),
                            in_ptr<float>(io, kWv), in_ptr<float>(io, kBv), in_ptr<float>(io, kEps),
                            out_ptr<float>(io, 0), out_ptr<float>(io, 1), out_ptr<float>(io, 2), out_ptr<float>(io, 3),
                            aux_ptr<float>(io, 0), aux_ptr<float>(io, 1), c.var_eps, c.sample, io.ctx->seed,
                            &io.ctx->scalars->step, c.stream, N, H, L);
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
}
void bwd_cuda(const OpIO& io) {
  const int64_t N = io.in[kH].dim(0), H = io.in[kH].dim(1), L = io.in[kWm].dim(0);
  try {
    cuda::normal_latent_bwd(stream(io), in_ptr<float>(io, kH), in_ptr<float>(io, kWm), in_ptr<float>(io, kWv),
                            io.out[1].ptr<float>(), io.out[2].ptr<float>(), aux_ptr<float>(io, 0), aux_ptr<float>(io, 1),
                            dout_ptr<float>(io, 0), dout_ptr<float>(io, 1), dout_ptr<float>(io, 2),
                            dout_ptr<float>(io, 3), din_ptr<float>(io, kH), din_ptr<float>(io, kWm),
                            din_ptr<float>(io, kBm), din_ptr<float>(io, kWv), din_ptr<float>(io, kBv), acc(io, kH),
                            acc(io, kWm), acc(io, kBm), acc(io, kWv), acc(io, kBv), config(*io.p).sample, N, H, L);
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
}
#endif

OpParams prm(double var_eps, int64_t stream, int64_t sample) {
  OpParams p;
  p.f[0] = var_eps;
  p.i[0] = stream;
  p.i[1] = sample;
  return p;
}

std::vector<TestCase> tests() {
  const GenSpec w = uniform(-0.4, 0.4);
  return {
      {"scvi_like", {{7, 13}, {5, 13}, {5}, {5, 13}, {5}, {}}, {uniform(), w, w, w, w, absent()}, prm(1e-4, 3, 1), 13},
      {"injected_noise",
       {{6, 37}, {3, 37}, {3}, {3, 37}, {3}, {6, 3}},
       {uniform(), w, w, w, w, uniform(-2, 2)},
       prm(1e-4, 0, 1),
       37},
      {"mean_no_bias", {{5, 9}, {11, 9}, {}, {11, 9}, {}, {}}, {uniform(), w, absent(), w, absent(), absent()},
       prm(1e-3, 0, 0), 9},
  };
}
std::vector<TestCase> bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t h : {128, 512})
      for (int64_t l : {10, 30})
        v.push_back({"N" + std::to_string(n) + "_H" + std::to_string(h) + "_L" + std::to_string(l),
                     {{n, h}, {l, h}, {l}, {l, h}, {l}, {}},
                     {uniform(), uniform(-0.1, 0.1), uniform(-0.1, 0.1), uniform(-0.1, 0.1), uniform(-0.1, 0.1),
                      absent()},
                     prm(1e-4, 3, 1),
                     h});
  return v;
}

}  // namespace

void register_latent_ops(Registry& r) {
  OpDef d;
  d.name = "normal_latent";
  d.n_in = 6;
  d.n_out = 4;
  d.n_aux = 2;
  d.diff_inputs = (1u << kH) | (1u << kWm) | (1u << kBm) | (1u << kWv) | (1u << kBv);
  d.shapes = shapes;
  CUVI_CPU_KERNELS(d, fwd_cpu, bwd_cpu);
  d.cuda_fwd = CUVI_CUDA_FN(fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(bwd_cuda);
  d.flops = [](const Tensor* in, const OpParams&) {
    return 4.0 * in[kH].dim(0) * in[kH].dim(1) * in[kWm].dim(0) + 60.0 * in[kH].dim(0) * in[kWm].dim(0);
  };
  d.bytes = [](const Tensor* in, const OpParams&) {
    return 4.0 * (in[kH].numel() + 2.0 * in[kWm].numel() + 6.0 * in[kH].dim(0) * in[kWm].dim(0));
  };
  d.test_cases = tests;
  d.bench_cases = bench;
  d.tol = Tol::Reduction;
  d.random = true;
  r.add(d);
}

}  // namespace cuvi::ops
