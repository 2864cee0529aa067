// Op "linear": y = x W[:, :K]^T + W[:, K + codes] + b (Linear with one-hot covariate injection).
// Inputs: x (N,K), W (M,K+C), b (M) optional, codes (N,J) i32 optional (column offsets past K, -1 none).
#include "engine/ops/op_util.h"
#include "kernels/cpu/linear.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/linear.h"
#endif

namespace cuvi::ops {
namespace {

struct Dims {
  int64_t N, K, C, M, J;
};
Dims dims(const Tensor* in) {
  const int64_t N = in[0].dim(0), K = in[0].dim(1), M = in[1].dim(0);
  return {N, K, in[1].dim(1) - K, M, in[3].defined() ? in[3].dim(1) : 0};
}

void shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  expect_rank("linear", "x", in[0], 2);
  expect_rank("linear", "weight", in[1], 2);
  expect_float("linear", "x", in[0]);
  CUVI_CHECK(in[1].dim(1) >= in[0].dim(1), "linear: weight " + in[1].shape.str() + " has fewer columns than x " +
                                               in[0].shape.str());
  if (in[2].defined()) {
    expect_rank("linear", "bias", in[2], 1);
    CUVI_CHECK(in[2].dim(0) == in[1].dim(0), "linear: bias " + in[2].shape.str() + " does not match weight rows");
  }
  if (in[3].defined()) {
    expect_rank("linear", "codes", in[3], 2);
    CUVI_CHECK(in[3].dtype == DType::I32 && in[3].dim(0) == in[0].dim(0),
               "linear: codes must be i32 (N, J) with N = rows of x");
  } else {
    CUVI_CHECK(in[1].dim(1) == in[0].dim(1), "linear: weight has covariate columns but no codes were given");
  }
  s->out[0] = fspec({in[0].dim(0), in[1].dim(0)});
}

template <class T>
void fwd_cpu(const OpIO& io) {
  const Dims d = dims(io.in);
  cpu::linear_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), in_ptr<int32_t>(io, 3), out_ptr<T>(io, 0),
                     d.N, d.K, d.C, d.M, d.J);
}
template <class T>
void bwd_cpu(const OpIO& io) {
  const Dims d = dims(io.in);
  cpu::linear_bwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<int32_t>(io, 3), dout_ptr<T>(io, 0),
                     din_ptr<T>(io, 0), din_ptr<T>(io, 1), din_ptr<T>(io, 2), acc(io, 0), acc(io, 1), acc(io, 2), d.N,
                     d.K, d.C, d.M, d.J);
}
#ifndef CUVI_CPU_ONLY
void fwd_cuda(const OpIO& io) {
  const Dims d = dims(io.in);
  cuda::linear_fwd(cublas(io), stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                   in_ptr<int32_t>(io, 3), out_ptr<float>(io, 0), d.N, d.K, d.C, d.M, d.J);
}
void bwd_cuda(const OpIO& io) {
  const Dims d = dims(io.in);
  cuda::linear_bwd(cublas(io), stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<int32_t>(io, 3),
                   dout_ptr<float>(io, 0), din_ptr<float>(io, 0), din_ptr<float>(io, 1), din_ptr<float>(io, 2),
                   acc(io, 0), acc(io, 1), acc(io, 2), d.N, d.K, d.C, d.M, d.J);
}
#endif

double flops(const Tensor* in, const OpParams&) {
  const Dims d = dims(in);
  return 2.0 * d.N * d.K * d.M + (in[2].defined() ? d.N * d.M : 0) + double(d.N) * d.M * d.J;
}
double bytes(const Tensor* in, const OpParams&) {
  const Dims d = dims(in);
  return 4.0 * (d.N * d.K + d.M * (d.K + d.C) + d.N * d.M + (in[2].defined() ? d.M : 0)) + 4.0 * d.N * d.J;
}

std::vector<TestCase> tests() {
  return {
      {"plain", {{5, 7}, {3, 7}, {}, {}}, {uniform(), uniform(), absent(), absent()}, {}, 7},
      {"bias", {{6, 9}, {4, 9}, {4}, {}}, {uniform(), uniform(), uniform(), absent()}, {}, 9},
      {"covariates", {{7, 5}, {3, 5 + 4}, {3}, {7, 2}}, {uniform(), uniform(), uniform(), codes(4)}, {}, 5},
      {"wide", {{3, 67}, {33, 67}, {33}, {}}, {uniform(), uniform(), uniform(), absent()}, {}, 67},
      // K = 0: a pure one-hot lookup, as for gene-batch dispersion and the library prior.
      {"lookup_only", {{6, 0}, {5, 3}, {}, {6, 1}}, {uniform(), uniform(), absent(), codes(3)}, {}, 1},
  };
}
std::vector<TestCase> bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t g : {2000, 20000})
      for (int64_t h : {128, 512}) {
        const std::string tag = "N" + std::to_string(n) + "_G" + std::to_string(g) + "_H" + std::to_string(h);
        v.push_back({"encoder_" + tag, {{n, g}, {h, g + 1}, {h}, {n, 1}}, {uniform(), uniform(), uniform(), codes(1)},
                     {}, g});
        v.push_back({"decoder_head_" + tag, {{n, h}, {g, h}, {g}, {}}, {uniform(), uniform(), uniform(), absent()},
                     {}, h});
      }
  return v;
}

}  // namespace

void register_linear_ops(Registry& r) {
  OpDef d;
  d.name = "linear";
  d.n_in = 4;
  d.n_out = 1;
  d.diff_inputs = 0b0111;
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
