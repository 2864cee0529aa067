// Ops embedding (table rows by code; scvi batch_representation="embedding", MRVI sample embeddings) and
// gather_csr_rows (densify a minibatch of CSR rows: the device-resident loader, DESIGN.md decision 5).
#include <cstring>

#include "engine/ops/op_util.h"
#include "kernels/cpu/embedding.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/embedding.h"
#endif

namespace cuvi::ops {
namespace {

// ---- embedding: table (S,F), codes (N) i32 -> y (N,F) ----

void emb_shapes(const Tensor* in, const OpParams&, OpShapes* s) {
  expect_rank("embedding", "table", in[0], 2);
  expect_float("embedding", "table", in[0]);
  expect_rank("embedding", "codes", in[1], 1);
  CUVI_CHECK(in[1].dtype == DType::I32, "embedding: codes must be i32, got " + in[1].str());
  CUVI_CHECK(in[0].numel() > 0, "embedding: table must be non-empty, got " + in[0].shape.str());
  s->out[0] = fspec({in[1].dim(0), in[0].dim(1)});
}

// The CPU path checks the codes before use (cheap); on CUDA an out-of-range code gives a NaN row.
void emb_check_codes(const OpIO& io) {
  const int64_t S = io.in[0].dim(0), N = io.in[1].dim(0);
  const int32_t* c = io.in[1].ptr<int32_t>();
  for (int64_t n = 0; n < N; ++n)
    CUVI_CHECK(c[n] >= 0 && c[n] < S, "embedding: codes[" + std::to_string(n) + "] = " + std::to_string(c[n]) +
                                          " is outside the table's " + std::to_string(S) + " rows");
}

template <class T>
void emb_fwd_cpu(const OpIO& io) {
  emb_check_codes(io);
  cpu::embedding_fwd<T>(in_ptr<T>(io, 0), in_ptr<int32_t>(io, 1), out_ptr<T>(io, 0), io.in[1].dim(0),
                        io.in[0].dim(1));
}
template <class T>
void emb_bwd_cpu(const OpIO& io) {
  T* dtable = din_ptr<T>(io, 0);
  if (!dtable) return;
  if (!io.d_out[0].defined()) {  // no incoming gradient: zero
    if (!acc(io, 0)) std::memset(dtable, 0, io.d_in[0].nbytes());
    return;
  }
  cpu::embedding_bwd<T>(in_ptr<int32_t>(io, 1), dout_ptr<T>(io, 0), dtable, acc(io, 0), io.in[1].dim(0),
                        io.in[0].dim(1), io.in[0].dim(0));
}
#ifndef CUVI_CPU_ONLY
void emb_fwd_cuda(const OpIO& io) {
  cuda::embedding_fwd(stream(io), in_ptr<float>(io, 0), in_ptr<int32_t>(io, 1), out_ptr<float>(io, 0),
                      io.in[1].dim(0), io.in[0].dim(1), io.in[0].dim(0));
}
void emb_bwd_cuda(const OpIO& io) {
  float* dtable = din_ptr<float>(io, 0);
  if (!dtable) return;
  if (!io.d_out[0].defined()) {
    if (!acc(io, 0))
      CUVI_CHECK(cudaMemsetAsync(dtable, 0, io.d_in[0].nbytes(), stream(io)) == cudaSuccess,
                 "cudaMemsetAsync failed zeroing the embedding gradient");
    return;
  }
  cuda::embedding_bwd(stream(io), in_ptr<int32_t>(io, 1), dout_ptr<float>(io, 0), dtable, acc(io, 0),
                      io.in[1].dim(0), io.in[0].dim(1), io.in[0].dim(0));
}
#endif
double emb_flops(const Tensor* in, const OpParams&) { return 0.0; }
double emb_bytes(const Tensor* in, const OpParams&) { return 8.0 * in[1].dim(0) * in[0].dim(1) + 4.0 * in[1].dim(0); }

std::vector<TestCase> emb_tests() {
  return {{"small", {{5, 7}, {9}}, {uniform(), codes(5)}, {}, 9},
          {"repeated_codes", {{3, 33}, {40}}, {uniform(), codes(3)}, {}, 40},
          {"single_entry", {{1, 1}, {3}}, {uniform(), codes(1)}, {}, 3},
          {"many_categories", {{70, 5}, {11}}, {uniform(), codes(70)}, {}, 11}};
}
std::vector<TestCase> emb_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024}) {
    v.push_back({"batch_embedding_N" + std::to_string(n) + "_B16_D5", {{16, 5}, {n}}, {uniform(), codes(16)}, {}, n});
    v.push_back({"sample_embedding_N" + std::to_string(n) + "_S128_H128", {{128, 128}, {n}},
                 {uniform(), codes(128)}, {}, n});
  }
  return v;
}

// ---- gather_csr_rows: indptr (R+1) i64 (or i32), indices (nnz) i32, data (nnz), rows (N) i32 -> x (N, G),
//      log1p(x) (N, G), log library (N, 1) ----

void gather_shapes(const Tensor* in, const OpParams& p, OpShapes* s) {
  const char* op = "gather_csr_rows";
  expect_rank(op, "indptr", in[0], 1);
  expect_rank(op, "indices", in[1], 1);
  expect_rank(op, "data", in[2], 1);
  expect_rank(op, "rows", in[3], 1);
  CUVI_CHECK(in[0].dtype == DType::I64 || in[0].dtype == DType::I32,
             "gather_csr_rows: indptr must be i64 (or i32), got " + in[0].str());
  CUVI_CHECK(in[0].dim(0) >= 1, "gather_csr_rows: indptr must hold R + 1 >= 1 offsets, got " + in[0].shape.str());
  CUVI_CHECK(in[1].dtype == DType::I32, "gather_csr_rows: indices must be i32, got " + in[1].str());
  expect_float(op, "data", in[2]);
  CUVI_CHECK(in[1].dim(0) == in[2].dim(0), "gather_csr_rows: indices " + in[1].shape.str() + " and data " +
                                               in[2].shape.str() + " must have the same length (nnz)");
  CUVI_CHECK(in[3].dtype == DType::I32, "gather_csr_rows: rows must be i32, got " + in[3].str());
  CUVI_CHECK(p.i[0] >= 1, "gather_csr_rows: i0 (number of columns G) must be positive, got " + std::to_string(p.i[0]));
  s->out[0] = fspec({in[3].dim(0), p.i[0]});
  s->out[1] = fspec({in[3].dim(0), p.i[0]});
  s->out[2] = fspec({in[3].dim(0), 1});
}

// The CPU path checks what it is about to read: rows in [0, R), their offsets ordered inside [0, nnz],
// their column indices in [0, G). CUDA skips such entries instead (the loader validates the matrix on load).
template <class Index>
void gather_check(const OpIO& io) {
  const Index* indptr = io.in[0].ptr<Index>();
  const int32_t* indices = io.in[1].ptr<int32_t>();
  const int32_t* rows = io.in[3].ptr<int32_t>();
  const int64_t R = io.in[0].dim(0) - 1, nnz = io.in[1].dim(0), N = io.in[3].dim(0), G = io.p->i[0];
  for (int64_t n = 0; n < N; ++n) {
    const int64_t r = rows[n];
    CUVI_CHECK(r >= 0 && r < R, "gather_csr_rows: rows[" + std::to_string(n) + "] = " + std::to_string(r) +
                                    " is outside the matrix's " + std::to_string(R) + " rows");
    const int64_t k0 = int64_t(indptr[r]), k1 = int64_t(indptr[r + 1]);
    CUVI_CHECK(0 <= k0 && k0 <= k1 && k1 <= nnz, "gather_csr_rows: indptr of row " + std::to_string(r) + " is [" +
                                                     std::to_string(k0) + ", " + std::to_string(k1) +
                                                     "), not an ordered range inside [0, " + std::to_string(nnz) + "]");
    for (int64_t k = k0; k < k1; ++k)
      CUVI_CHECK(indices[k] >= 0 && indices[k] < G, "gather_csr_rows: column index " + std::to_string(indices[k]) +
                                                        " of row " + std::to_string(r) + " is outside [0, " +
                                                        std::to_string(G) + ")");
  }
}

template <class T>
void gather_fwd_cpu(const OpIO& io) {
  const int64_t N = io.in[3].dim(0), G = io.p->i[0];
  if (io.in[0].dtype == DType::I64) {
    gather_check<int64_t>(io);
    cpu::gather_csr_rows<T, int64_t>(io.in[0].ptr<int64_t>(), in_ptr<int32_t>(io, 1), in_ptr<T>(io, 2),
                                     in_ptr<int32_t>(io, 3), out_ptr<T>(io, 0), out_ptr<T>(io, 1), out_ptr<T>(io, 2), N, G);
  } else {
    gather_check<int32_t>(io);
    cpu::gather_csr_rows<T, int32_t>(io.in[0].ptr<int32_t>(), in_ptr<int32_t>(io, 1), in_ptr<T>(io, 2),
                                     in_ptr<int32_t>(io, 3), out_ptr<T>(io, 0), out_ptr<T>(io, 1), out_ptr<T>(io, 2), N, G);
  }
}
#ifndef CUVI_CPU_ONLY
int64_t* device_error(const OpIO& io) { return io.ctx->scalars ? io.ctx->scalars->device_error : nullptr; }
void gather_fwd_cuda(const OpIO& io) {
  const int64_t N = io.in[3].dim(0), G = io.p->i[0], R = io.in[0].dim(0) - 1, nnz = io.in[1].dim(0);
  if (io.in[0].dtype == DType::I64)
    cuda::gather_csr_rows(stream(io), io.in[0].ptr<int64_t>(), in_ptr<int32_t>(io, 1), in_ptr<float>(io, 2),
                          in_ptr<int32_t>(io, 3), out_ptr<float>(io, 0), out_ptr<float>(io, 1), out_ptr<float>(io, 2),
                          device_error(io), N, G, R, nnz);
  else
    cuda::gather_csr_rows(stream(io), io.in[0].ptr<int32_t>(), in_ptr<int32_t>(io, 1), in_ptr<float>(io, 2),
                          in_ptr<int32_t>(io, 3), out_ptr<float>(io, 0), out_ptr<float>(io, 1), out_ptr<float>(io, 2),
                          device_error(io), N, G, R, nnz);
}
#endif
double gather_flops(const Tensor*, const OpParams&) { return 0.0; }
// Dense writes dominate; the nonzeros read are data-dependent (counted as at most nnz).
double gather_bytes(const Tensor* in, const OpParams& p) {
  return 8.0 * in[3].dim(0) * p.i[0] + 8.0 * in[1].dim(0) + 16.0 * in[3].dim(0);
}

OpParams gather_params(int64_t G) {
  OpParams p;
  p.i[0] = G;
  return p;
}
// The test generators cannot build an ordered indptr (codes(1) gives all-zero offsets: empty rows), so these
// cases check the zero fill, shapes and guard regions; tests/ops/test_structure_semantics.cpp checks the
// scatter against a dense matrix on every available backend.
std::vector<TestCase> gather_tests() {
  return {{"empty_rows", {{6}, {11}, {11}, {4}}, {codes(1), codes(9), uniform(), codes(5)}, gather_params(9), 1},
          {"odd_columns", {{4}, {7}, {7}, {5}}, {codes(1), codes(37), uniform(), codes(3)}, gather_params(37), 1},
          {"wide", {{4}, {7}, {7}, {3}}, {codes(1), codes(20000), uniform(), codes(3)}, gather_params(20000), 1}};
}
std::vector<TestCase> gather_bench() {
  std::vector<TestCase> v;
  for (int64_t n : {128, 1024})
    for (int64_t g : {2000, 20000})
      v.push_back({"N" + std::to_string(n) + "_G" + std::to_string(g), {{4097}, {1}, {1}, {n}},
                   {codes(1), codes(1), uniform(), codes(4096)}, gather_params(g), 1});
  return v;
}

}  // namespace

void register_embedding_ops(Registry& r) {
  {
    OpDef d;
    d.name = "embedding";
    d.n_in = 2;
    d.diff_inputs = 0b01;
    d.shapes = emb_shapes;
    CUVI_CPU_KERNELS(d, emb_fwd_cpu, emb_bwd_cpu);
    d.cuda_fwd = CUVI_CUDA_FN(emb_fwd_cuda);
    d.cuda_bwd = CUVI_CUDA_FN(emb_bwd_cuda);
    d.flops = emb_flops;
    d.bytes = emb_bytes;
    d.test_cases = emb_tests;
    d.bench_cases = emb_bench;
    d.tol = Tol::Reduction;  // the table gradient sums rows that share a code
    r.add(d);
  }
  {
    OpDef d;
    d.name = "gather_csr_rows";
    d.n_in = 4;
    d.n_out = 3;
    d.diff_inputs = 0;
    d.grad_check = false;
    d.shapes = gather_shapes;
    d.cpu_fwd_f32 = gather_fwd_cpu<float>;
    d.cpu_fwd_f64 = gather_fwd_cpu<double>;
    d.cuda_fwd = CUVI_CUDA_FN(gather_fwd_cuda);
    d.flops = gather_flops;
    d.bytes = gather_bytes;
    d.test_cases = gather_tests;
    d.bench_cases = gather_bench;
    d.tol = Tol::Transcendental;  // log1p and log of the library: libm (double) vs CUDA fp32
    r.add(d);
  }
}

}  // namespace cuvi::ops
