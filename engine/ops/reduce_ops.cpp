// Ops sum_rows, mean_rows, logsumexp_rows, sum_cols, sum_all, mean_all, softmax_rows, log_softmax_rows and
// masked_softmax_rows (engine/ops/README.md catalog; max-shifted softmax, spec scvi-multivi.md §0 and §1.3).
#include <cstring>

#include "engine/ops/op_util.h"
#include "kernels/cpu/reduce.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/reduce.h"
#endif

namespace cuvi::ops {
namespace {

enum ReduceKind : int {
  kSumRows,
  kMeanRows,
  kLogSumExpRows,
  kSumCols,
  kSumAll,
  kMeanAll,
  kSoftmaxRows,
  kLogSoftmaxRows,
  kMaskedSoftmaxRows,
};
constexpr const char* kName[] = {"sum_rows", "mean_rows",        "logsumexp_rows",     "sum_cols", "sum_all",
                                 "mean_all", "softmax_rows",     "log_softmax_rows",   "masked_softmax_rows"};

// Backward with no incoming gradient (treated as zero): overwrite-mode input gradients become 0.
bool zero_grads_without_dout(const OpIO& io) {
  if (io.d_out[0].defined()) return false;
  for (int i = 0; i < io.n_in; ++i) {
    if (!io.d_in[i].defined() || acc(io, i)) continue;
#ifndef CUVI_CPU_ONLY
    if (io.ctx->device == Device::CUDA)
      CUVI_CHECK(cudaMemsetAsync(io.d_in[i].data, 0, io.d_in[i].nbytes(), stream(io)) == cudaSuccess,
                 "cudaMemsetAsync failed zeroing a gradient");
    else
#endif
      std::memset(io.d_in[i].data, 0, io.d_in[i].nbytes());
  }
  return true;
}

template <int Kind>
void shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  const char* op = kName[Kind];
  const Tensor& x = in[0];
  expect_float(op, "x", x);
  if (Kind == kSumAll || Kind == kMeanAll) {
    CUVI_CHECK(x.is_contiguous() && x.numel() > 0, std::string(op) + ": x must be contiguous and non-empty, got " +
                                                       x.shape.str());
    s->out[0] = fspec({1});
    return;
  }
  expect_rank(op, "x", x, 2);
  CUVI_CHECK(x.numel() > 0, std::string(op) + ": x must be non-empty, got " + x.shape.str());
  if (Kind == kMaskedSoftmaxRows) {
    expect_float(op, "mask", in[1]);
    expect_same(op, "x", x, "mask", in[1]);
    CUVI_CHECK(in[1].dtype == x.dtype && in[1].is_contiguous(),
               std::string(op) + ": mask must be contiguous with the dtype of x, got " + in[1].str());
  }
  switch (Kind) {
    case kSumRows:
    case kMeanRows:
    case kLogSumExpRows: s->out[0] = fspec({x.dim(0)}); break;
    case kSumCols: s->out[0] = fspec({x.dim(1)}); break;
    default: s->out[0] = fspec(x.shape); break;
  }
}

#ifndef CUVI_CPU_ONLY
// Scratch of the two-pass whole-tensor sum on CUDA: the engine's reduction workspace.
float* sum_scratch(const OpIO& io) {
  return io.ctx->workspace_bytes >= cuda::kSumAllScratchBytes ? static_cast<float*>(io.ctx->workspace) : nullptr;
}
#endif

template <int Kind>
struct Reduce {
  template <class T>
  static void fwd_cpu(const OpIO& io) {
    const T* x = in_ptr<T>(io, 0);
    T* y = out_ptr<T>(io, 0);
    const int64_t N = io.in[0].rows(), F = io.in[0].cols(), n = io.in[0].numel();
    switch (Kind) {
      case kSumRows: cpu::sum_rows<T>(x, nullptr, y, 1.0, false, N, F); break;
      case kMeanRows: cpu::sum_rows<T>(x, nullptr, y, 1.0 / double(F), false, N, F); break;
      case kLogSumExpRows: cpu::logsumexp_rows<T>(x, y, N, F); break;
      case kSumCols: cpu::sum_cols<T>(x, nullptr, y, 1.0, false, N, F); break;
      case kSumAll: cpu::sum_all<T>(x, nullptr, y, 1.0, false, n); break;
      case kMeanAll: cpu::sum_all<T>(x, nullptr, y, 1.0 / double(n), false, n); break;
      case kSoftmaxRows: cpu::softmax_rows<T>(x, nullptr, y, N, F); break;
      case kLogSoftmaxRows: cpu::log_softmax_rows<T>(x, y, N, F); break;
      case kMaskedSoftmaxRows: cpu::softmax_rows<T>(x, in_ptr<T>(io, 1), y, N, F); break;
    }
  }
  template <class T>
  static void bwd_cpu(const OpIO& io) {
    if (zero_grads_without_dout(io)) return;
    T* dx = din_ptr<T>(io, 0);
    if (!dx) return;
    const T* dy = dout_ptr<T>(io, 0);
    const bool a = acc(io, 0);
    const int64_t N = io.in[0].rows(), F = io.in[0].cols(), n = io.in[0].numel();
    switch (Kind) {
      case kSumRows: cpu::sum_rows_bwd<T>(dy, dx, 1.0, a, N, F); break;
      case kMeanRows: cpu::sum_rows_bwd<T>(dy, dx, 1.0 / double(F), a, N, F); break;
      case kLogSumExpRows: cpu::logsumexp_rows_bwd<T>(in_ptr<T>(io, 0), io.out[0].ptr<T>(), dy, dx, a, N, F); break;
      case kSumCols: cpu::sum_cols_bwd<T>(dy, dx, a, N, F); break;
      case kSumAll: cpu::sum_all_bwd<T>(dy, dx, 1.0, a, n); break;
      case kMeanAll: cpu::sum_all_bwd<T>(dy, dx, 1.0 / double(n), a, n); break;
      case kSoftmaxRows:
      case kMaskedSoftmaxRows: cpu::softmax_rows_bwd<T>(io.out[0].ptr<T>(), dy, dx, a, N, F); break;
      case kLogSoftmaxRows: cpu::log_softmax_rows_bwd<T>(io.out[0].ptr<T>(), dy, dx, a, N, F); break;
    }
  }
#ifndef CUVI_CPU_ONLY
  static void fwd_cuda(const OpIO& io) {
    const cudaStream_t s = stream(io);
    const float* x = in_ptr<float>(io, 0);
    float* y = out_ptr<float>(io, 0);
    const int64_t N = io.in[0].rows(), F = io.in[0].cols(), n = io.in[0].numel();
    switch (Kind) {
      case kSumRows: cuda::sum_rows(s, x, nullptr, y, 1.f, false, N, F); break;
      case kMeanRows: cuda::sum_rows(s, x, nullptr, y, float(1.0 / double(F)), false, N, F); break;
      case kLogSumExpRows: cuda::logsumexp_rows(s, x, y, N, F); break;
      case kSumCols: cuda::sum_cols(s, x, nullptr, y, 1.f, false, N, F); break;
      case kSumAll: cuda::sum_all(s, x, nullptr, y, 1.f, false, n, sum_scratch(io)); break;
      case kMeanAll: cuda::sum_all(s, x, nullptr, y, float(1.0 / double(n)), false, n, sum_scratch(io)); break;
      case kSoftmaxRows: cuda::softmax_rows(s, x, nullptr, y, N, F); break;
      case kLogSoftmaxRows: cuda::log_softmax_rows(s, x, y, N, F); break;
      case kMaskedSoftmaxRows: cuda::softmax_rows(s, x, in_ptr<float>(io, 1), y, N, F); break;
    }
  }
  static void bwd_cuda(const OpIO& io) {
    if (zero_grads_without_dout(io)) return;
    float* dx = din_ptr<float>(io, 0);
    if (!dx) return;
    const cudaStream_t s = stream(io);
    const float* dy = dout_ptr<float>(io, 0);
    const bool a = acc(io, 0);
    const int64_t N = io.in[0].rows(), F = io.in[0].cols(), n = io.in[0].numel();
    switch (Kind) {
      case kSumRows: cuda::sum_rows_bwd(s, dy, dx, 1.f, a, N, F); break;
      case kMeanRows: cuda::sum_rows_bwd(s, dy, dx, float(1.0 / double(F)), a, N, F); break;
      case kLogSumExpRows:
        cuda::logsumexp_rows_bwd(s, in_ptr<float>(io, 0), io.out[0].ptr<float>(), dy, dx, a, N, F);
        break;
      case kSumCols: cuda::sum_cols_bwd(s, dy, dx, a, N, F); break;
      case kSumAll: cuda::sum_all_bwd(s, dy, dx, 1.f, a, n); break;
      case kMeanAll: cuda::sum_all_bwd(s, dy, dx, float(1.0 / double(n)), a, n); break;
      case kSoftmaxRows:
      case kMaskedSoftmaxRows: cuda::softmax_rows_bwd(s, io.out[0].ptr<float>(), dy, dx, a, N, F); break;
      case kLogSoftmaxRows: cuda::log_softmax_rows_bwd(s, io.out[0].ptr<float>(), dy, dx, a, N, F); break;
    }
  }
#endif
  static double flops(const Tensor* in, const OpParams&) {
    const double n = double(in[0].numel());
    switch (Kind) {
      case kLogSumExpRows: return 3.0 * n;   // max, exp, sum
      case kSoftmaxRows:
      case kLogSoftmaxRows:
      case kMaskedSoftmaxRows: return 5.0 * n;  // max, exp, sum, exp again, scale
      default: return n;
    }
  }
  static double bytes(const Tensor* in, const OpParams&) {
    const double n = double(in[0].numel());
    switch (Kind) {
      case kSumRows:
      case kMeanRows:
      case kLogSumExpRows: return 4.0 * (n + in[0].rows());
      case kSumCols: return 4.0 * (n + in[0].cols());
      case kSumAll:
      case kMeanAll: return 4.0 * (n + 1);
      case kMaskedSoftmaxRows: return 12.0 * n;
      default: return 8.0 * n;
    }
  }
};

// ---- test and bench shapes ----

std::vector<TestCase> row_tests() {
  return {{"matrix", {{5, 7}}, {uniform()}, {}, 7},
          {"odd", {{3, 45}}, {uniform(-3, 3)}, {}, 45},
          {"one_column", {{4, 1}}, {uniform()}, {}, 1},
          {"wide", {{2, 20000}}, {uniform()}, {}, 20000}};
}
std::vector<TestCase> logsumexp_tests() {
  return {{"matrix", {{5, 7}}, {uniform(-5, 5)}, {}, 7},
          {"odd", {{3, 45}}, {uniform(-20, 20)}, {}, 45},
          {"one_column", {{4, 1}}, {uniform()}, {}, 1},
          {"wide", {{2, 20000}}, {uniform(-20, 20)}, {}, 20000}};
}
std::vector<TestCase> col_tests() {
  return {{"matrix", {{7, 5}}, {uniform()}, {}, 7},
          {"tall", {{33, 3}}, {uniform()}, {}, 33},
          {"one_row", {{1, 37}}, {uniform()}, {}, 1},
          {"wide", {{3, 2000}}, {uniform()}, {}, 3}};
}
std::vector<TestCase> all_tests() {
  return {{"vector", {{37}}, {uniform()}, {}, 37},
          {"matrix", {{5, 7}}, {uniform()}, {}, 35},
          {"rank3", {{3, 2, 11}}, {uniform()}, {}, 66},
          {"two_pass", {{3, 20000}}, {uniform()}, {}, 60000}};
}
std::vector<TestCase> softmax_tests() {
  return {{"matrix", {{5, 7}}, {uniform(-3, 3)}, {}, 7},
          {"odd", {{3, 45}}, {uniform(-10, 10)}, {}, 45},
          {"one_column", {{6, 1}}, {uniform()}, {}, 1},
          {"wide", {{2, 20000}}, {uniform(-10, 10)}, {}, 20000}};
}
std::vector<TestCase> masked_tests() {
  return {{"mostly_kept", {{5, 7}, {5, 7}}, {uniform(-3, 3), binary(0.7)}, {}, 7},
          {"with_empty_rows", {{9, 3}, {9, 3}}, {uniform(-3, 3), binary(0.3)}, {}, 3},
          {"wide", {{2, 2001}, {2, 2001}}, {uniform(-10, 10), binary(0.5)}, {}, 2001}};
}

std::vector<TestCase> by_genes_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t g : {2000, 20000})
      v.push_back({"N" + std::to_string(n) + "_G" + std::to_string(g), {{n, g}}, {uniform()}, {}, g});
  return v;
}
std::vector<TestCase> by_hidden_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t h : {128, 512})
      v.push_back({"N" + std::to_string(n) + "_H" + std::to_string(h), {{n, h}}, {uniform()}, {}, h});
  return v;
}
std::vector<TestCase> sum_cols_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t g : {2000, 20000})
      v.push_back({"N" + std::to_string(n) + "_G" + std::to_string(g), {{n, g}}, {uniform()}, {}, n});
  return v;
}
std::vector<TestCase> all_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024}) {
    v.push_back({"loss_N" + std::to_string(n), {{n}}, {uniform()}, {}, n});
    v.push_back({"N" + std::to_string(n) + "_G20000", {{n, 20000}}, {uniform()}, {}, n * 20000});
  }
  return v;
}
std::vector<TestCase> masked_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024}) {
    v.push_back({"modalities_N" + std::to_string(n), {{n, 3}, {n, 3}}, {uniform(), binary(0.8)}, {}, 3});
    v.push_back({"N" + std::to_string(n) + "_G2000", {{n, 2000}, {n, 2000}}, {uniform(), binary(0.8)}, {}, 2000});
  }
  return v;
}

template <int Kind>
void add(Registry& r, std::vector<TestCase> (*tests)(), std::vector<TestCase> (*bench)()) {
  OpDef d;
  d.name = kName[Kind];
  d.n_in = Kind == kMaskedSoftmaxRows ? 2 : 1;
  d.diff_inputs = 0b1;  // the mask is not differentiable
  d.shapes = shapes<Kind>;
  CUVI_CPU_KERNELS(d, Reduce<Kind>::template fwd_cpu, Reduce<Kind>::template bwd_cpu);
  d.cuda_fwd = CUVI_CUDA_FN(Reduce<Kind>::fwd_cuda);
  d.cuda_bwd = CUVI_CUDA_FN(Reduce<Kind>::bwd_cuda);
  d.flops = Reduce<Kind>::flops;
  d.bytes = Reduce<Kind>::bytes;
  d.test_cases = tests;
  d.bench_cases = bench;
  d.tol = Tol::Reduction;
  r.add(d);
}

}  // namespace

void register_reduce_ops(Registry& r) {
  add<kSumRows>(r, row_tests, by_genes_bench);
  add<kMeanRows>(r, row_tests, by_hidden_bench);
  add<kLogSumExpRows>(r, logsumexp_tests, by_genes_bench);
  add<kSumCols>(r, col_tests, sum_cols_bench);
  add<kSumAll>(r, all_tests, all_bench);
  add<kMeanAll>(r, all_tests, all_bench);
  add<kSoftmaxRows>(r, softmax_tests, by_genes_bench);
  add<kLogSoftmaxRows>(r, softmax_tests, by_hidden_bench);
  add<kMaskedSoftmaxRows>(r, masked_tests, masked_bench);
}

}  // namespace cuvi::ops
