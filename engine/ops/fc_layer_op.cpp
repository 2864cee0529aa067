// Op "fc_layer": one scvi FCLayers layer fused (scvi-multivi.md §1.2): y = dropout(act(norm(x W^T + b + W[:, K +
// codes]))). Inputs: x (N,K), W (M,K+C), b (M) opt, codes (N,J) i32 opt, gamma (M) opt, beta (M) opt, running_mean
// (M) opt, running_var (M) opt, keep (N,M) opt (injected dropout multipliers). Params: i0 norm (0 none, 1 batch,
// 2 layer without affine), i1 activation (0 none, 1 relu, 2 leaky relu), i2 training, i3 dropout stream; f0 dropout
// probability (Philox mask when > 0 and no keep is given), f1 BatchNorm momentum, f2 norm eps, f3 leaky slope.
// Aux: pre-norm values (N,M), norm statistics (2,M) or (2,N), keep multipliers (N,M), backward scratch (N,M).
#include "engine/ops/op_util.h"
#include "kernels/cpu/fc_layer.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/fc_layer.h"
#endif

namespace cuvi::ops {
namespace {

enum In { kX, kW, kB, kCodes, kGamma, kBeta, kRunMean, kRunVar, kKeep };

struct Dims {
  int64_t N, K, C, M, J;
};
Dims dims(const Tensor* in) {
  const int64_t N = in[kX].dim(0), K = in[kX].dim(1), M = in[kW].dim(0);
  return {N, K, in[kW].dim(1) - K, M, in[kCodes].defined() ? in[kCodes].dim(1) : 0};
}

FcConfig config(const OpIO& io) {
  const OpParams& p = *io.p;
  FcConfig c;
  c.norm = int(p.i[0]);
  c.act = int(p.i[1]);
  c.training = p.i[2] != 0;
  c.stream = uint32_t(p.i[3]);
  c.p_drop = p.f[0];
  c.momentum = p.f[1];
  c.eps = p.f[2];
  c.slope = p.f[3];
  return c;
}
bool dropout_on(const Tensor* in, const OpParams& p) { return in[kKeep].defined() || p.f[0] > 0; }

void shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  const char* op = "fc_layer";
  expect_rank(op, "x", in[kX], 2);
  expect_rank(op, "weight", in[kW], 2);
  expect_float(op, "x", in[kX]);
  const int64_t N = in[kX].dim(0), K = in[kX].dim(1), M = in[kW].dim(0);
  CUVI_CHECK(in[kW].dim(1) >= K, "fc_layer: weight " + in[kW].shape.str() + " has fewer columns than x " +
                                     in[kX].shape.str());
  CUVI_CHECK(in[kCodes].defined() || in[kW].dim(1) == K,
             "fc_layer: weight has covariate columns but no codes were given");
  if (in[kCodes].defined())
    CUVI_CHECK(in[kCodes].dtype == DType::I32 && in[kCodes].ndim() == 2 && in[kCodes].dim(0) == N,
               "fc_layer: codes must be i32 (N, J) with N = rows of x");
  const char* names[] = {"", "", "bias", "", "gamma", "beta", "running_mean", "running_var"};
  for (int i : {kB, kGamma, kBeta, kRunMean, kRunVar})
    if (in[i].defined()) {
      expect_rank(op, names[i], in[i], 1);
      CUVI_CHECK(in[i].dim(0) == M && in[i].dtype == in[kX].dtype,
                 std::string("fc_layer: ") + names[i] + " " + in[i].str() + " must be (" + std::to_string(M) +
                     ") with the dtype of x");
    }
  const int64_t norm = p.i[0], act = p.i[1];
  CUVI_CHECK(norm >= 0 && norm <= 2 && act >= 0 && act <= 2 && (p.i[2] == 0 || p.i[2] == 1),
             "fc_layer: i0 (norm) and i1 (activation) must be 0..2, i2 (training) 0 or 1");
  CUVI_CHECK(p.f[0] >= 0 && p.f[0] < 1, "fc_layer: dropout probability f0 must be in [0, 1)");
  if (norm == kFcNormBatch) {
    CUVI_CHECK(in[kRunMean].defined() && in[kRunVar].defined(), "fc_layer: BatchNorm needs its running statistics");
    CUVI_CHECK(p.i[2] == 0 || N > 1, "fc_layer: batchnorm training needs more than one row per batch, got x " +
                                         in[kX].shape.str() + " (torch: Expected more than 1 value per channel when training)");
    CUVI_CHECK(p.f[1] > 0 && p.f[1] <= 1 && p.f[2] > 0, "fc_layer: momentum (f1) must lie in (0, 1], eps (f2) > 0");
  } else {
    CUVI_CHECK(!in[kGamma].defined() && !in[kBeta].defined() && !in[kRunMean].defined() && !in[kRunVar].defined(),
               "fc_layer: gamma, beta and running statistics belong to BatchNorm (the fused LayerNorm has no affine)");
    CUVI_CHECK(norm == kFcNormNone || p.f[2] > 0, "fc_layer: LayerNorm eps (f2) must be positive");
  }
  if (in[kKeep].defined()) {
    expect_float(op, "keep", in[kKeep]);
    CUVI_CHECK(in[kKeep].shape == Shape({N, M}), "fc_layer: keep " + in[kKeep].shape.str() + " must be (N, M) = " +
                                                     Shape({N, M}).str());
  }
  s->out[0] = fspec({N, M});
  s->aux[0] = fspec({N, M});
  s->aux[1] = fspec(norm == kFcNormBatch ? Shape{2, M} : norm == kFcNormLayer ? Shape{2, N} : Shape{1});
  s->aux[2] = fspec(dropout_on(in, p) ? Shape{N, M} : Shape{1});
  s->aux[3] = fspec({N, M});
}

template <class T>
T* stats_ptr(const OpIO& io) {
  return io.p->i[0] == kFcNormNone ? nullptr : aux_ptr<T>(io, 1);
}
template <class T>
T* keep_ptr(const OpIO& io) {
  return dropout_on(io.in, *io.p) ? aux_ptr<T>(io, 2) : nullptr;
}

template <class T>
void fwd_cpu(const OpIO& io) {
  const Dims d = dims(io.in);
  cpu::fc_layer_fwd<T>(in_ptr<T>(io, kX), in_ptr<T>(io, kW), in_ptr<T>(io, kB), in_ptr<int32_t>(io, kCodes),
                       in_ptr<T>(io, kGamma), in_ptr<T>(io, kBeta), const_cast<T*>(in_ptr<T>(io, kRunMean)),
                       const_cast<T*>(in_ptr<T>(io, kRunVar)), in_ptr<T>(io, kKeep), out_ptr<T>(io, 0),
                       aux_ptr<T>(io, 0), stats_ptr<T>(io), keep_ptr<T>(io), config(io), io.ctx->seed,
                       uint32_t(io.ctx->scalars->step), d.N, d.K, d.C, d.M, d.J);
}
template <class T>
void bwd_cpu(const OpIO& io) {
  const Dims d = dims(io.in);
  CUVI_CHECK(io.d_out[0].defined(), "fc_layer: backward without an output gradient");
  cpu::fc_layer_bwd<T>(in_ptr<T>(io, kX), in_ptr<T>(io, kW), in_ptr<int32_t>(io, kCodes), in_ptr<T>(io, kGamma),
                       io.out[0].ptr<T>(), aux_ptr<T>(io, 0), stats_ptr<T>(io), keep_ptr<T>(io), dout_ptr<T>(io, 0),
                       aux_ptr<T>(io, 3), din_ptr<T>(io, kX), din_ptr<T>(io, kW), din_ptr<T>(io, kB),
                       din_ptr<T>(io, kGamma), din_ptr<T>(io, kBeta), acc(io, kX), acc(io, kW), acc(io, kB),
                       acc(io, kGamma), acc(io, kBeta), config(io), d.N, d.K, d.C, d.M, d.J);
}
#ifndef CUVI_CPU_ONLY
void fwd_cuda(const OpIO& io) {
  const Dims d = dims(io.in);
  try {
    cuda::fc_layer_fwd(cublas(io), stream(io), in_ptr<float>(io, kX), in_ptr<float>(io, kW), in_ptr<float>(io, kB),
                       in_ptr<int32_t>(io, kCodes), in_ptr<float>(io, kGamma), in_ptr<float>(io, kBeta),
                       const_cast<float*>(in_ptr<float>(io, kRunMean)), const_cast<float*>(in_ptr<float>(io, kRunVar)),
                       in_ptr<float>(io, kKeep), out_ptr<float>(io, 0), aux_ptr<float>(io, 0), stats_ptr<float>(io),
                       keep_ptr<float>(io), config(io), io.ctx->seed, &io.ctx->scalars->step, d.N, d.K, d.C, d.M, d.J);
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
}
void bwd_cuda(const OpIO& io) {
  const Dims d = dims(io.in);
  CUVI_CHECK(io.d_out[0].defined(), "fc_layer: backward without an output gradient");
  try {
    cuda::fc_layer_bwd(cublas(io), stream(io), in_ptr<float>(io, kX), in_ptr<float>(io, kW),
                       in_ptr<int32_t>(io, kCodes), in_ptr<float>(io, kGamma), io.out[0].ptr<float>(),
                       aux_ptr<float>(io, 0), stats_ptr<float>(io), keep_ptr<float>(io), dout_ptr<float>(io, 0),
                       aux_ptr<float>(io, 3), din_ptr<float>(io, kX), din_ptr<float>(io, kW), din_ptr<float>(io, kB),
                       din_ptr<float>(io, kGamma), din_ptr<float>(io, kBeta), acc(io, kX), acc(io, kW), acc(io, kB),
                       acc(io, kGamma), acc(io, kBeta), config(io), d.N, d.K, d.C, d.M, d.J);
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
}
#endif

double flops(const Tensor* in, const OpParams& p) {
  const Dims d = dims(in);
  return 2.0 * d.N * d.K * d.M + double(d.N) * d.M * (d.J + 2 + (p.i[0] ? 6 : 0) + (dropout_on(in, p) ? 12 : 0));
}
double bytes(const Tensor* in, const OpParams& p) {
  const Dims d = dims(in);
  return 4.0 * (d.N * d.K + d.M * (d.K + d.C) + 3.0 * d.N * d.M + 6.0 * d.M + d.N * d.J) +
         (dropout_on(in, p) ? 4.0 * d.N * d.M : 0);
}

OpParams prm(int norm, int act, int training, double p_drop, double eps, uint32_t stream = 17) {
  OpParams p;
  p.i[0] = norm;
  p.i[1] = act;
  p.i[2] = training;
  p.i[3] = stream;
  p.f[0] = p_drop;
  p.f[1] = 0.1;
  p.f[2] = eps;
  p.f[3] = 0.01;
  return p;
}

std::vector<TestCase> tests() {
  const GenSpec none = absent();
  return {
      // Encoder layer: covariates, BatchNorm, ReLU, Philox dropout.
      {"bn_relu_dropout",
       {{7, 9}, {5, 12}, {5}, {7, 2}, {5}, {5}, {5}, {5}, {}},
       {uniform(), uniform(), uniform(), codes(3), uniform(0.5, 1.5), uniform(), uniform(), loguniform(0.5, 2), none},
       prm(1, 1, 1, 0.2, 1e-3),
       9},
      // 37 features from 41 inputs (past the in-kernel product's 32: the SGEMM path), BatchNorm, no dropout.
      {"bn_relu_wide",
       {{6, 41}, {37, 41}, {37}, {}, {37}, {37}, {37}, {37}, {}},
       {uniform(), uniform(), uniform(), none, uniform(0.5, 1.5), uniform(), uniform(), loguniform(0.5, 2), none},
       prm(1, 1, 1, 0, 1e-3),
       41},
      // LinearSCVI's factor regressor in eval mode: no bias, BatchNorm with running statistics, no activation.
      {"bn_eval_linear",
       {{5, 3}, {13, 3}, {}, {}, {13}, {13}, {13}, {13}, {}},
       {uniform(), uniform(), none, none, uniform(0.5, 1.5), uniform(), uniform(), loguniform(0.5, 2), none},
       prm(1, 0, 0, 0, 1e-3),
       3},
      // LayerNorm without affine, leaky ReLU, injected keep multipliers (fixtures' dropout masks).
      {"ln_leaky_keep",
       {{6, 7}, {33, 7 + 4}, {33}, {6, 1}, {}, {}, {}, {}, {6, 33}},
       {uniform(), uniform(), uniform(), codes(4), none, none, none, none, binary(0.8)},
       prm(2, 2, 1, 0, 1e-5),
       33},
      // LayerNorm after an SGEMM (45 inputs), ReLU, covariates.
      {"ln_relu_wide_input",
       {{5, 45}, {19, 45 + 3}, {19}, {5, 1}, {}, {}, {}, {}, {}},
       {uniform(), uniform(), uniform(), codes(3), none, none, none, none, none},
       prm(2, 1, 1, 0, 1e-5),
       45},
      // No norm, ReLU, Philox dropout.
      {"plain_relu_dropout",
       {{4, 35}, {9, 35}, {9}, {}, {}, {}, {}, {}, {}},
       {uniform(), uniform(), uniform(), none, none, none, none, none, none},
       prm(0, 1, 1, 0.1, 0),
       35},
  };
}
std::vector<TestCase> bench() {
  std::vector<TestCase> v;
  const GenSpec none = absent();
  for (int64_t n : {128, 1024})
    for (int64_t g : {2000, 20000})
      for (int64_t h : {128, 512}) {
        const std::string tag = "N" + std::to_string(n) + "_G" + std::to_string(g) + "_H" + std::to_string(h);
        v.push_back({"encoder_" + tag,
                     {{n, g}, {h, g}, {h}, {}, {h}, {h}, {h}, {h}, {}},
                     {counts(20), uniform(), uniform(), none, uniform(0.5, 1.5), uniform(), uniform(),
                      loguniform(0.5, 2), none},
                     prm(1, 1, 1, 0.1, 1e-3),
                     g});
      }
  return v;
}

}  // namespace

void register_fc_layer_ops(Registry& r) {
  OpDef d;
  d.name = "fc_layer";
  d.n_in = 9;
  d.n_out = 1;
  d.n_aux = 4;
  d.diff_inputs = (1u << kX) | (1u << kW) | (1u << kB) | (1u << kGamma) | (1u << kBeta);
  d.mutated_inputs = (1u << kRunMean) | (1u << kRunVar);
  d.shapes = shapes;
  CUVI_CPU_KERNELS(d, fwd_cpu, bwd_cpu);
  d.cuda_fwd = CUVI_CUDA_FN(fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(bwd_cuda);
  d.flops = flops;
  d.bytes = bytes;
  d.test_cases = tests;
  d.bench_cases = bench;
  d.tol = Tol::Reduction;
  d.random = true;
  d.kinks = true;
  r.add(d);
}

}  // namespace cuvi::ops
