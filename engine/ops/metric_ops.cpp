// Op "accumulate_sums": acc[k] += sum(v_k) for up to four per-cell vectors, on the device, so a
// trainer reads epoch metrics once per epoch instead of syncing every step.
// Inputs: v0..v3 (any length) optional, acc (4) f64 updated in place (an epoch's sums are too long for
// float: 1M cells of ~1e3 each leave float's 24 bits). No outputs, no gradient.
#include "engine/ops/op_util.h"
#include "kernels/cpu/metrics.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/metrics.h"
#endif

namespace cuvi::ops {
namespace {

void shapes(const Tensor* in, const OpParams&, OpShapes*) {
  for (int k = 0; k < 4; ++k)
    if (in[k].defined()) expect_rank("accumulate_sums", "vector", in[k], 1);
  expect_rank("accumulate_sums", "acc", in[4], 1);
  CUVI_CHECK(in[4].dim(0) == 4, "accumulate_sums: acc must hold 4 values");
  CUVI_CHECK(in[4].dtype == DType::F64, std::string("accumulate_sums: acc must be f64, got ") + dtype_name(in[4].dtype));
}

int64_t length(const Tensor* in) {
  int64_t n = 0;
  for (int k = 0; k < 4; ++k)
    if (in[k].defined()) n += in[k].dim(0);
  return n;
}

template <class T>
void fwd_cpu(const OpIO& io) {
  const T* v[4];
  int64_t len[4];
  for (int k = 0; k < 4; ++k) {
    v[k] = in_ptr<T>(io, k);
    len[k] = v[k] ? io.in[k].dim(0) : 0;
  }
  cpu::accumulate_sums<T>(v, len, io.in[4].ptr<double>());
}

#ifndef CUVI_CPU_ONLY
void fwd_cuda(const OpIO& io) {
  cuda::MetricVectors v;
  for (int k = 0; k < 4; ++k) {
    v.v[k] = in_ptr<float>(io, k);
    v.n[k] = v.v[k] ? io.in[k].dim(0) : 0;
  }
  cuda::accumulate_sums(stream(io), v, io.in[4].ptr<double>());
}
#endif

double flops(const Tensor* in, const OpParams&) { return 4.0 * length(in); }
double bytes(const Tensor* in, const OpParams&) { return 16.0 * length(in); }

}  // namespace

void register_metric_ops(Registry& r) {
  OpDef d;
  d.name = "accumulate_sums";
  d.n_in = 5;
  d.n_out = 0;
  d.mutated_inputs = 1u << 4;
  d.shapes = shapes;
  d.cpu_fwd_f32 = fwd_cpu<float>;
  d.cpu_fwd_f64 = fwd_cpu<double>;
  d.cuda_fwd = CUVI_CUDA_FN(fwd_cuda);
  d.flops = flops;
  d.bytes = bytes;
  d.test_cases = [] {
    return std::vector<TestCase>{
        {"three", {{131}, {131}, {1}, {}, {4}}, {uniform(), uniform(0, 5), loguniform(1, 1e3), absent(), uniform_f64(-1, 1)}, {}, 131},
        {"one", {{1}, {}, {}, {}, {4}}, {uniform(), absent(), absent(), absent(), uniform_f64(-1, 1)}, {}, 1},
        // small sums onto a large total: a float accumulator would drop them (ulp(2^30) = 128)
        {"onto_large_total", {{37}, {}, {}, {}, {4}}, {uniform(0, 1), absent(), absent(), absent(), uniform_f64(1.07e9, 1.08e9)}, {}, 37}};
  };
  d.bench_cases = [] {
    return std::vector<TestCase>{{"N1024", {{1024}, {1024}, {1024}, {1024}, {4}},
                                  {uniform(), uniform(), uniform(), uniform(), uniform_f64(-1, 1)}, {}, 1024}};
  };
  d.tol = Tol::Reduction;
  d.grad_check = false;
  r.add(d);
}

}  // namespace cuvi::ops
