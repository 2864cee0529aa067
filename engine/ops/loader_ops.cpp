// Op "gather_rows": out (N,F) = table[rows] for a per-cell table (f32, or i32 copied bit for bit);
// the loader's covariate gather. Inputs: table (R,F), rows (N) i32. No gradient.
#include "engine/ops/op_util.h"
#include "kernels/cpu/gather.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/gather.h"
#endif

namespace cuvi::ops {
namespace {

void shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  expect_rank("gather_rows", "table", in[0], 2);
  expect_rank("gather_rows", "rows", in[1], 1);
  CUVI_CHECK(is_float(in[0].dtype) || in[0].dtype == DType::I32, "gather_rows: the table must be float or i32");
  CUVI_CHECK(in[1].dtype == DType::I32, "gather_rows: rows must be i32");
  const Shape out{in[1].dim(0), in[0].dim(1)};
  s->out[0] = in[0].dtype == DType::I32 ? ispec(out) : fspec(out);
}

template <class T>
void fwd_cpu(const OpIO& io) {
  if (io.in[0].dtype == DType::I32)
    cpu::gather_rows<int32_t>(io.in[0].ptr<int32_t>(), io.in[1].ptr<int32_t>(), io.out[0].ptr<int32_t>(),
                              io.in[1].dim(0), io.in[0].dim(1));
  else
    cpu::gather_rows<T>(io.in[0].ptr<T>(), io.in[1].ptr<int32_t>(), io.out[0].ptr<T>(), io.in[1].dim(0),
                        io.in[0].dim(1));
}

#ifndef CUVI_CPU_ONLY
void fwd_cuda(const OpIO& io) {
  cuda::gather_rows(stream(io), io.in[0].data, io.in[1].ptr<int32_t>(), io.out[0].data, io.in[1].dim(0),
                    io.in[0].dim(1));
}
#endif

double flops(const Tensor*, const OpParams&) { return 0; }
double bytes(const Tensor* in, const OpParams&) { return 8.0 * in[1].dim(0) * in[0].dim(1) + 4.0 * in[1].dim(0); }

void replace_shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  expect_rank("replace_column", "codes", in[0], 2);
  CUVI_CHECK(in[0].dtype == DType::I32, "replace_column: codes must be i32");
  CUVI_CHECK(p.i[0] >= 0 && p.i[0] < in[0].dim(1), "replace_column: column out of range");
  s->out[0] = ispec(in[0].shape);
}
template <class T>
void replace_cpu(const OpIO& io) {
  cpu::replace_column(io.in[0].ptr<int32_t>(), io.out[0].ptr<int32_t>(), io.in[0].dim(0), io.in[0].dim(1),
                      io.p->i[0], int32_t(io.p->i[1]));
}
#ifndef CUVI_CPU_ONLY
void replace_cuda(const OpIO& io) {
  cuda::replace_column(stream(io), io.in[0].ptr<int32_t>(), io.out[0].ptr<int32_t>(), io.in[0].dim(0),
                       io.in[0].dim(1), io.p->i[0], int32_t(io.p->i[1]));
}
#endif

}  // namespace

void register_loader_ops(Registry& r) {
  {
    // "replace_column": codes (N,J) i32 -> copy with column i0 set to i1 (transform_batch).
    OpDef d;
    d.name = "replace_column";
    d.n_in = 1;
    d.shapes = replace_shapes;
    d.cpu_fwd_f32 = replace_cpu<float>;
    d.cpu_fwd_f64 = replace_cpu<double>;
    d.cuda_fwd = CUVI_CUDA_FN(replace_cuda);
    d.flops = [](const Tensor*, const OpParams&) { return 0.0; };
    d.bytes = [](const Tensor* in, const OpParams&) { return 8.0 * in[0].numel(); };
    d.test_cases = [] {
      OpParams p;
      p.i[0] = 1;
      p.i[1] = 7;
      OpParams q;
      return std::vector<TestCase>{{"middle", {{9, 3}}, {codes(5)}, p, 1}, {"first", {{4, 1}}, {codes(5)}, q, 1}};
    };
    d.bench_cases = [] {
      return std::vector<TestCase>{{"N1024_J3", {{1024, 3}}, {codes(10)}, OpParams{}, 1}};
    };
    d.tol = Tol::Exact;
    d.grad_check = false;
    r.add(d);
  }
  OpDef d;
  d.name = "gather_rows";
  d.n_in = 2;
  d.shapes = shapes;
  d.cpu_fwd_f32 = fwd_cpu<float>;
  d.cpu_fwd_f64 = fwd_cpu<double>;
  d.cuda_fwd = CUVI_CUDA_FN(fwd_cuda);
  d.flops = flops;
  d.bytes = bytes;
  d.test_cases = [] {
    return std::vector<TestCase>{{"covariates", {{19, 3}, {7}}, {uniform(), codes(19)}, {}, 1},
                                 {"single_column", {{5, 1}, {11}}, {uniform(), codes(5)}, {}, 1}};
  };
  d.bench_cases = [] {
    return std::vector<TestCase>{{"N1024_C8", {{100000, 8}, {1024}}, {uniform(), codes(100000)}, {}, 1}};
  };
  d.tol = Tol::Exact;
  d.grad_check = false;
  r.add(d);
}

}  // namespace cuvi::ops
