// Op "linear": y = x W[:, :K]^T + W[:, K + codes] + b (Linear with one-hot covariate injection).
// Inputs: x (N,K), W (M,K+C), b (M) optional, codes (N,J) i32 optional (column offsets past K, -1 none).
// Op "linear_pair": two heads y_i = x W_i^T + b_i on one input (SCVI's px_scale and px_dropout decoders).
#include <algorithm>

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
      // More rows than the bias-gradient kernel's 8 row groups and more columns than its 32-column tile.
      {"tall", {{45, 3}, {37, 3 + 2}, {37}, {45, 1}}, {uniform(), uniform(), uniform(), codes(2)}, {}, 45},
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

// ---- linear_pair: x (N,K), W1 (M,K), b1 (M) opt, W2 (M,K), b2 (M) opt -> y1, y2 (N,M) ----

void pair_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  const char* op = "linear_pair";
  expect_rank(op, "x", in[0], 2);
  expect_float(op, "x", in[0]);
  expect_rank(op, "weight 1", in[1], 2);
  expect_rank(op, "weight 2", in[3], 2);
  CUVI_CHECK(in[1].dim(1) == in[0].dim(1) && in[3].shape == in[1].shape,
             "linear_pair: weights " + in[1].shape.str() + " and " + in[3].shape.str() +
                 " must both be (M, K) with K = columns of x " + in[0].shape.str());
  for (int i : {2, 4})
    if (in[i].defined()) {
      expect_rank(op, "bias", in[i], 1);
      CUVI_CHECK(in[i].dim(0) == in[1].dim(0), "linear_pair: bias " + in[i].shape.str() + " does not match weight rows");
    }
  s->out[0] = fspec({in[0].dim(0), in[1].dim(0)});
  s->out[1] = fspec({in[0].dim(0), in[1].dim(0)});
}
template <class T>
void pair_fwd_cpu(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), K = io.in[0].dim(1), M = io.in[1].dim(0);
  cpu::linear_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1), in_ptr<T>(io, 2), nullptr, out_ptr<T>(io, 0), N, K, 0, M, 0);
  cpu::linear_fwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 3), in_ptr<T>(io, 4), nullptr, out_ptr<T>(io, 1), N, K, 0, M, 0);
}
template <class T>
void pair_bwd_cpu(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), K = io.in[0].dim(1), M = io.in[1].dim(0);
  T* dx = din_ptr<T>(io, 0);
  bool acc_x = acc(io, 0);
  for (int q = 0; q < 2; ++q) {
    const T* dy = dout_ptr<T>(io, q);
    T* dw = din_ptr<T>(io, 1 + 2 * q);
    T* db = din_ptr<T>(io, 2 + 2 * q);
    if (!dy) {  // no gradient reached this head: overwrite-mode parameter gradients are zero
      if (dw && !acc(io, 1 + 2 * q)) std::fill(dw, dw + M * K, T(0));
      if (db && !acc(io, 2 + 2 * q)) std::fill(db, db + M, T(0));
      continue;
    }
    cpu::linear_bwd<T>(in_ptr<T>(io, 0), in_ptr<T>(io, 1 + 2 * q), nullptr, dy, dx, dw, db, acc_x, acc(io, 1 + 2 * q),
                       acc(io, 2 + 2 * q), N, K, 0, M, 0);
    if (dx) acc_x = true;
  }
  if (dx && !acc_x) std::fill(dx, dx + N * K, T(0));
}
#ifndef CUVI_CPU_ONLY
void pair_fwd_cuda(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), K = io.in[0].dim(1), M = io.in[1].dim(0);
  try {
    cuda::linear_pair_fwd(cublas(io), stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 2),
                          in_ptr<float>(io, 3), in_ptr<float>(io, 4), out_ptr<float>(io, 0), out_ptr<float>(io, 1), N,
                          K, M);
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
}
void pair_bwd_cuda(const OpIO& io) {
  const int64_t N = io.in[0].dim(0), K = io.in[0].dim(1), M = io.in[1].dim(0);
  try {
    cuda::linear_pair_bwd(cublas(io), stream(io), in_ptr<float>(io, 0), in_ptr<float>(io, 1), in_ptr<float>(io, 3),
                          dout_ptr<float>(io, 0), dout_ptr<float>(io, 1), din_ptr<float>(io, 0), din_ptr<float>(io, 1),
                          din_ptr<float>(io, 2), din_ptr<float>(io, 3), din_ptr<float>(io, 4), acc(io, 0), acc(io, 1),
                          acc(io, 2), acc(io, 3), acc(io, 4), N, K, M);
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
}
#endif

}  // namespace

void register_linear_ops(Registry& r) {
  {
    OpDef d;
    d.name = "linear_pair";
    d.n_in = 5;
    d.n_out = 2;
    d.diff_inputs = 0b11111;
    d.shapes = pair_shapes;
    CUVI_CPU_KERNELS(d, pair_fwd_cpu, pair_bwd_cpu);
    d.cuda_fwd = CUVI_CUDA_FN(pair_fwd_cuda);
    d.cuda_bwd = CUVI_CUDA_FN(pair_bwd_cuda);
    d.flops = [](const Tensor* in, const OpParams&) { return 4.0 * in[0].dim(0) * in[0].dim(1) * in[1].dim(0); };
    d.bytes = [](const Tensor* in, const OpParams&) {
      return 4.0 * (in[0].numel() + 2.0 * in[1].numel() + 2.0 * in[0].dim(0) * in[1].dim(0));
    };
    d.test_cases = [] {
      return std::vector<TestCase>{
          {"heads", {{7, 11}, {37, 11}, {37}, {37, 11}, {37}}, {uniform(), uniform(), uniform(), uniform(), uniform()},
           {}, 11},
          {"no_bias_tall", {{45, 5}, {9, 5}, {}, {9, 5}, {}}, {uniform(), uniform(), absent(), uniform(), absent()}, {},
           45},
      };
    };
    d.bench_cases = [] {
      std::vector<TestCase> v;
      for (int64_t n : {128, 1024})
        for (int64_t g : {2000, 20000})
          v.push_back({"decoder_heads_N" + std::to_string(n) + "_G" + std::to_string(g) + "_H128",
                       {{n, 128}, {g, 128}, {g}, {g, 128}, {g}},
                       {uniform(), uniform(), uniform(), uniform(), uniform()},
                       {},
                       128});
      return v;
    };
    d.tol = Tol::Reduction;
    r.add(d);
  }
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
