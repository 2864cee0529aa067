// Semantics of the structural ops beyond the registry sweep: softmax with huge logits, masked softmax with a
// fully masked row, gather_csr_rows against the dense matrix, broadcast gradients of add/sub/mul, and scale by
// the backend's kl_weight. Checks that matter on both backends also run on CUDA when a device is present.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/common/philox.h"
#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

Backend& cpu() {
  static std::unique_ptr<Backend> b = make_cpu_backend(1234, 2);
  return *b;
}
Backend* cuda_or_null() {
  static std::unique_ptr<Backend> b = [] {
    std::unique_ptr<Backend> r;
    if (cuda_device_available()) r = make_cuda_backend(1234);
    return r;
  }();
  return b.get();
}
// The CPU reference in f64 and f32, and CUDA (f32) when a device is present.
struct BackendRun {
  Backend* backend;
  DType type;
  const char* name;
};
std::vector<BackendRun> runs() {
  std::vector<BackendRun> v = {{&cpu(), DType::F64, "cpu f64"}, {&cpu(), DType::F32, "cpu f32"}};
  if (Backend* c = cuda_or_null()) v.push_back({c, DType::F32, "cuda"});
  return v;
}
double tol_for(DType t) { return t == DType::F64 ? 1e-12 : 2e-6; }

HostTensor host(const Shape& s, std::vector<double> v, DType t = DType::F32) {
  HostTensor h;
  h.present = true;
  h.dtype = t;
  h.shape = s;
  h.v = std::move(v);
  EXPECT_EQ(int64_t(h.v.size()), s.numel());
  return h;
}
TestCase params_case(const std::string& label, const OpParams& p = {}) {
  TestCase tc;
  tc.label = label;
  tc.p = p;
  return tc;
}
double uniform01(uint64_t i, uint32_t stream) { return philox_uniform(2024, 3, stream, i); }

TEST(StructureSemantics, SoftmaxOfHugeLogitsIsFiniteAndRowsSumToOne) {
  const std::vector<double> xv = {1e4, 1e4 - 1, -1e4, 0,  // dominated by two entries
                                  -1e4, -1e4, -1e4, -1e4,  // all equal: uniform
                                  3e4, -3e4, 1e4, 2e4};
  const double e1 = std::exp(-1.0);
  for (const BackendRun& r : runs()) {
    const RunResult s = run_op(*r.backend, op("softmax_rows"), params_case("huge"), {host({3, 4}, xv)}, r.type);
    const RunResult ls = run_op(*r.backend, op("log_softmax_rows"), params_case("huge"), {host({3, 4}, xv)}, r.type);
    const RunResult lse = run_op(*r.backend, op("logsumexp_rows"), params_case("huge"), {host({3, 4}, xv)}, r.type);
    for (int n = 0; n < 3; ++n) {
      double sum = 0;
      for (int f = 0; f < 4; ++f) {
        const double y = s.out[0].v[n * 4 + f];
        ASSERT_TRUE(std::isfinite(y)) << r.name << " row " << n;
        ASSERT_TRUE(std::isfinite(ls.out[0].v[n * 4 + f])) << r.name << " log_softmax row " << n;
        sum += y;
      }
      EXPECT_NEAR(sum, 1.0, tol_for(r.type)) << r.name << " row " << n;
      EXPECT_TRUE(std::isfinite(lse.out[0].v[n])) << r.name;
    }
    EXPECT_NEAR(s.out[0].v[0], 1.0 / (1.0 + e1), tol_for(r.type)) << r.name;
    EXPECT_NEAR(s.out[0].v[1], e1 / (1.0 + e1), tol_for(r.type)) << r.name;
    EXPECT_EQ(s.out[0].v[2], 0.0) << r.name;
    for (int f = 0; f < 4; ++f) EXPECT_NEAR(s.out[0].v[4 + f], 0.25, tol_for(r.type)) << r.name;
    EXPECT_NEAR(s.out[0].v[8], 1.0, tol_for(r.type)) << r.name;
    EXPECT_NEAR(ls.out[0].v[1], -1.0 - std::log1p(e1), 1e-5) << r.name;
    EXPECT_NEAR(lse.out[0].v[0], 1e4 + std::log1p(e1), 1e4 * tol_for(r.type)) << r.name;
    EXPECT_NEAR(lse.out[0].v[1], -1e4 + std::log(4.0), 1e4 * tol_for(r.type)) << r.name;
  }
}

TEST(StructureSemantics, LogsumexpOfInfiniteRowsFollowsTorch) {
  const double inf = INFINITY;
  const std::vector<double> xv = {-inf, -inf, -inf, 1.0, inf, 2.0};
  for (const BackendRun& r : runs()) {
    const RunResult lse = run_op(*r.backend, op("logsumexp_rows"), params_case("inf"), {host({2, 3}, xv)}, r.type);
    EXPECT_EQ(lse.out[0].v[0], -inf) << r.name;
    EXPECT_EQ(lse.out[0].v[1], inf) << r.name;
  }
}

TEST(StructureSemantics, MaskedSoftmaxFullyMaskedRowGivesZerosAndZeroGradient) {
  const std::vector<double> xv = {0.5, 2.0, -1.0, 3.0,  //
                                  1.0, 1e4, -2.0, 0.0,   // fully masked (even a huge logit)
                                  0.1, 0.2, 0.3, 0.4};
  const std::vector<double> mv = {1, 0, 1, 0,  //
                                  0, 0, 0, 0,  //
                                  1, 1, 1, 1};
  std::vector<HostTensor> dy = {host({3, 4}, {0.3, -0.2, 0.9, 1.1, 0.5, -0.7, 0.25, 1.0, -0.4, 0.8, 0.6, -1.0})};
  for (const BackendRun& r : runs()) {
    const std::vector<HostTensor> in = {host({3, 4}, xv), host({3, 4}, mv)};
    const RunResult m = run_op(*r.backend, op("masked_softmax_rows"), params_case("masked"), in, r.type, &dy);
    const RunResult plain = run_op(*r.backend, op("softmax_rows"), params_case("plain"), {host({3, 4}, xv)}, r.type, &dy);
    ASSERT_TRUE(m.guards_intact) << m.guard_report;
    const double t = tol_for(r.type);
    // Row 0: softmax over the kept entries {0.5, -1.0}; masked entries are exactly 0.
    const double a = std::exp(0.5), b = std::exp(-1.0);
    EXPECT_NEAR(m.out[0].v[0], a / (a + b), t) << r.name;
    EXPECT_NEAR(m.out[0].v[2], b / (a + b), t) << r.name;
    EXPECT_EQ(m.out[0].v[1], 0.0) << r.name;
    EXPECT_EQ(m.out[0].v[3], 0.0) << r.name;
    EXPECT_EQ(m.d_in[0].v[1], 0.0) << r.name;
    EXPECT_EQ(m.d_in[0].v[3], 0.0) << r.name;
    // Row 1: all zeros, zero gradient.
    for (int f = 0; f < 4; ++f) {
      EXPECT_EQ(m.out[0].v[4 + f], 0.0) << r.name;
      EXPECT_EQ(m.d_in[0].v[4 + f], 0.0) << r.name;
    }
    // Row 2: nothing masked, equal to the plain softmax.
    for (int f = 0; f < 4; ++f) {
      EXPECT_NEAR(m.out[0].v[8 + f], plain.out[0].v[8 + f], t) << r.name;
      EXPECT_NEAR(m.d_in[0].v[8 + f], plain.d_in[0].v[8 + f], t) << r.name;
    }
  }
}

// A random R x G count matrix with empty rows, its CSR form (indptr i64 or i32), and N rows to gather.
struct Csr {
  int64_t R, G;
  std::vector<double> dense, indptr, indices, data;
};
Csr random_csr(int64_t R, int64_t G, uint32_t stream) {
  Csr c{R, G, std::vector<double>(R * G, 0.0), {0}, {}, {}};
  for (int64_t r = 0; r < R; ++r) {
    const bool empty_row = r % 5 == 3;
    for (int64_t g = 0; g < G; ++g) {
      if (empty_row || uniform01(r * G + g, stream) > 0.3) continue;
      const double v = 1 + std::floor(20 * uniform01(r * G + g, stream + 1));
      c.dense[r * G + g] = v;
      c.indices.push_back(double(g));
      c.data.push_back(v);
    }
    c.indptr.push_back(double(c.indices.size()));
  }
  return c;
}

TEST(StructureSemantics, GatherCsrRowsEqualsTheDenseMatrixIncludingEmptyRows) {
  for (int64_t G : {13, 16, 2003}) {  // 16: the vectorised zero fill on CUDA
    const Csr c = random_csr(20, G, 11 + uint32_t(G));
    std::vector<double> rows = {3, 0, 19, 8, 3, 13, 7, 19, 1};  // repeats and empty rows (3, 8, 13, 18)
    const int64_t N = int64_t(rows.size()), nnz = int64_t(c.data.size());
    ASSERT_GT(nnz, 0);
    OpParams p;
    p.i[0] = G;
    for (DType indptr_type : {DType::I64, DType::I32})
      for (const BackendRun& r : runs()) {
        const std::vector<HostTensor> in = {host({c.R + 1}, c.indptr, indptr_type), host({nnz}, c.indices, DType::I32),
                                            host({nnz}, c.data), host({N}, rows, DType::I32)};
        const RunResult x = run_op(*r.backend, op("gather_csr_rows"), params_case("dense", p), in, r.type);
        ASSERT_TRUE(x.guards_intact) << x.guard_report;
        ASSERT_EQ(x.out[0].v.size(), size_t(N * G));
        for (int64_t n = 0; n < N; ++n)
          for (int64_t g = 0; g < G; ++g)
            ASSERT_EQ(x.out[0].v[n * G + g], c.dense[int64_t(rows[n]) * G + g])
                << r.name << " G " << G << " row " << n << " (matrix row " << rows[n] << ") column " << g;
      }
  }
}

TEST(StructureSemantics, GatherCsrRowsCpuRejectsRowsAndColumnsOutOfRange) {
  const Csr c = random_csr(6, 9, 5);
  const int64_t nnz = int64_t(c.data.size());
  OpParams p;
  p.i[0] = 9;
  std::vector<HostTensor> in = {host({7}, c.indptr, DType::I64), host({nnz}, c.indices, DType::I32), host({nnz}, c.data),
                                host({2}, {1, 6}, DType::I32)};
  try {
    run_op(cpu(), op("gather_csr_rows"), params_case("bad_row", p), in, DType::F32);
    FAIL() << "row 6 of a 6-row matrix was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rows[1] = 6"), std::string::npos) << e.what();
  }
  p.i[0] = 4;  // narrower than the column indices present
  in[3] = host({2}, {0, 1}, DType::I32);
  EXPECT_THROW(run_op(cpu(), op("gather_csr_rows"), params_case("bad_column", p), in, DType::F32), Error);
}

// db of a broadcast binary op against an explicit reduction of dy (times a for mul).
TEST(StructureSemantics, BroadcastGradientOfBIsTheManualReduction) {
  const int64_t N = 4, F = 6;
  std::vector<double> av(N * F), dyv(N * F);
  for (int64_t i = 0; i < N * F; ++i) {
    av[i] = 2 * uniform01(i, 1) - 1;
    dyv[i] = 2 * uniform01(i, 2) - 1;
  }
  struct Mode {
    Shape shape;
    int64_t rs, cs;
  };
  const Mode modes[] = {{{F}, 0, 1}, {{N, 1}, 1, 0}, {{1}, 0, 0}, {{N, F}, F, 1}};
  std::vector<HostTensor> dy = {host({N, F}, dyv)};
  for (const char* name : {"add", "sub", "mul"})
    for (const Mode& m : modes) {
      std::vector<double> bv(m.shape.numel());
      for (size_t i = 0; i < bv.size(); ++i) bv[i] = 0.5 + uniform01(i, 3);
      std::vector<double> db(bv.size(), 0.0), da(N * F), y(N * F);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t f = 0; f < F; ++f) {
          const int64_t i = n * F + f, j = n * m.rs + f * m.cs;
          const bool mul = std::string(name) == "mul";
          const double sign = std::string(name) == "sub" ? -1.0 : 1.0;
          y[i] = mul ? av[i] * bv[j] : av[i] + sign * bv[j];
          da[i] = mul ? dyv[i] * bv[j] : dyv[i];
          db[j] += mul ? dyv[i] * av[i] : sign * dyv[i];
        }
      for (const BackendRun& r : runs()) {
        const std::vector<HostTensor> in = {host({N, F}, av), host(m.shape, bv)};
        const RunResult res = run_op(*r.backend, op(name), params_case("manual"), in, r.type, &dy);
        ASSERT_TRUE(res.guards_intact) << res.guard_report;
        const double t = tol_for(r.type) * 4;
        const std::string where = std::string(name) + " b " + m.shape.str() + " on " + r.name;
        for (int64_t i = 0; i < N * F; ++i) {
          EXPECT_NEAR(res.out[0].v[i], y[i], t) << where;
          EXPECT_NEAR(res.d_in[0].v[i], da[i], t) << where;
        }
        for (size_t j = 0; j < db.size(); ++j) EXPECT_NEAR(res.d_in[1].v[j], db[j], t) << where << " db[" << j << "]";
      }
    }
}

TEST(StructureSemantics, ScaleUsesTheBackendsKlWeight) {
  const std::vector<double> xv = {1.0, -2.0, 0.5, 4.0, -0.25};
  std::vector<HostTensor> dy = {host({5}, {1.0, 1.0, -2.0, 0.5, 3.0})};
  OpParams warm, plain;
  warm.f[0] = 2.0;
  warm.i[0] = 1;
  plain.f[0] = 2.0;
  for (const BackendRun& r : runs()) {
    StepScalars s = r.backend->read_scalars();
    const StepScalars saved = s;
    s.kl_weight = 0.25;
    r.backend->write_scalars(s);
    const RunResult a = run_op(*r.backend, op("scale"), params_case("warm", warm), {host({5}, xv)}, r.type, &dy);
    const RunResult b = run_op(*r.backend, op("scale"), params_case("plain", plain), {host({5}, xv)}, r.type, &dy);
    r.backend->write_scalars(saved);
    for (size_t i = 0; i < xv.size(); ++i) {
      EXPECT_DOUBLE_EQ(a.out[0].v[i], 0.5 * xv[i]) << r.name;       // 2 * kl_weight 0.25
      EXPECT_DOUBLE_EQ(a.d_in[0].v[i], 0.5 * dy[0].v[i]) << r.name;
      EXPECT_DOUBLE_EQ(b.out[0].v[i], 2.0 * xv[i]) << r.name;       // i0 = 0 ignores kl_weight
      EXPECT_DOUBLE_EQ(b.d_in[0].v[i], 2.0 * dy[0].v[i]) << r.name;
    }
  }
}

TEST(StructureSemantics, ReductionsAndCopiesMatchHandValues) {
  // x = [[1, 2, 3], [4, 5, 7]]
  const std::vector<double> xv = {1, 2, 3, 4, 5, 7};
  auto x = [&] { return std::vector<HostTensor>{host({2, 3}, xv)}; };
  OpParams slice;
  slice.i[0] = 1;
  slice.i[1] = 2;
  for (const BackendRun& r : runs()) {
    const double t = tol_for(r.type);
    auto out = [&](const char* name, const std::vector<HostTensor>& in, const OpParams& p = {}) {
      return run_op(*r.backend, op(name), params_case("hand", p), in, r.type).out[0].v;
    };
    const std::vector<std::pair<const char*, std::vector<double>>> expected = {
        {"sum_rows", {6, 16}}, {"mean_rows", {2, 16.0 / 3}}, {"sum_cols", {5, 7, 10}}, {"sum_all", {22}},
        {"mean_all", {22.0 / 6}}};
    for (const auto& e : expected) {
      const std::vector<double> y = out(e.first, x());
      ASSERT_EQ(y.size(), e.second.size()) << e.first;
      for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], e.second[i], t * 10) << e.first << " on " << r.name;
    }
    EXPECT_EQ(out("slice_cols", x(), slice), (std::vector<double>{2, 3, 5, 7})) << r.name;
    EXPECT_EQ(out("concat_cols", {host({2, 3}, xv), host({2, 1}, {-1, -2})}),
              (std::vector<double>{1, 2, 3, -1, 4, 5, 7, -2}))
        << r.name;
    // Rows 2, 0, 2 of the (3, 2) table [[1, 2], [3, 4], [5, 6]].
    EXPECT_EQ(out("embedding", {host({3, 2}, {1, 2, 3, 4, 5, 6}), host({3}, {2, 0, 2}, DType::I32)}),
              (std::vector<double>{5, 6, 1, 2, 5, 6}))
        << r.name;
    // The table gradient sums the rows that share a code; unused rows get 0.
    std::vector<HostTensor> dy = {host({3, 2}, {1, 10, 100, 1000, 0.5, 0.25})};
    const RunResult g = run_op(*r.backend, op("embedding"), params_case("hand"),
                               {host({3, 2}, {1, 2, 3, 4, 5, 6}), host({3}, {2, 0, 2}, DType::I32)}, r.type, &dy);
    EXPECT_EQ(g.d_in[0].v, (std::vector<double>{100, 1000, 0, 0, 1.5, 10.25})) << r.name;
  }
}

TEST(StructureSemantics, ShapeRulesNameTheOpTheTensorAndTheShapes) {
  std::vector<HostTensor> in = {host({4, 6}, std::vector<double>(24, 1.0)), host({5}, std::vector<double>(5, 1.0))};
  try {
    run_op(cpu(), op("mul"), params_case("bad"), in, DType::F32);
    FAIL() << "mul accepted b (5) against a (4, 6)";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("mul"), std::string::npos) << m;
    EXPECT_NE(m.find("(5)"), std::string::npos) << m;
    EXPECT_NE(m.find("(4, 6)"), std::string::npos) << m;
  }
  OpParams p;
  p.i[0] = 4;
  p.i[1] = 3;
  EXPECT_THROW(run_op(cpu(), op("slice_cols"), params_case("bad", p), {host({2, 6}, std::vector<double>(12, 0.0))},
                       DType::F32),
               Error);
}

}  // namespace
}  // namespace cuvi::test
