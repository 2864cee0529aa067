// Op registry: every op's CPU reference (f32 and f64), CUDA forward/backward, shape rule, FLOP and
// byte counts, test shapes and tolerance class. Tests and benches walk it (DESIGN.md decision 1).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/tensor.h"

namespace cuvi {

constexpr int kMaxOpInputs = 12;
constexpr int kMaxOpOutputs = 4;
constexpr int kMaxOpAux = 4;

// Small plain-data parameters of one op call (sizes, flags, constants, RNG stream ids).
struct OpParams {
  int64_t i[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  double f[8] = {0, 0, 0, 0, 0, 0, 0, 0};
};

// Everything a kernel sees. Absent optional tensors have data == nullptr.
// Backward: d_out[j].data == nullptr means that output received no gradient (treat as zero);
// d_in[i].data == nullptr means input i needs no gradient; accumulate[i] adds instead of overwriting.
struct OpIO {
  const Tensor* in = nullptr;
  int n_in = 0;
  Tensor* out = nullptr;
  int n_out = 0;
  Tensor* aux = nullptr;  // saved by forward for backward (statistics, masks, normalised values)
  int n_aux = 0;
  const Tensor* d_out = nullptr;
  Tensor* d_in = nullptr;
  const bool* accumulate = nullptr;
  const OpParams* p = nullptr;
  ExecContext* ctx = nullptr;
};

using KernelFn = void (*)(const OpIO&);

struct TensorSpec {
  Shape shape;
  DType dtype = DType::F32;  // F32 here means "the op's float type" (F64 in double reference runs)
  bool is_float = true;      // false: integer/byte tensor whose dtype is kept as given
};
struct OpShapes {
  TensorSpec out[kMaxOpOutputs];
  TensorSpec aux[kMaxOpAux];
};
// Validates the inputs (fail() with a readable message) and sets output and aux shapes.
using ShapeFn = void (*)(const Tensor* in, const OpParams& p, OpShapes* s);

// How tests and benches fill an input.
enum class Gen : uint8_t {
  Absent,          // optional input left out
  Uniform,         // U(a, b)
  UniformNonZero,  // U(a, b) with |x| >= 0.05 (keeps finite differences off kinks)
  LogUniform,      // exp(U(ln a, ln b)), positive
  Counts,          // integer counts: NB-like mix of zeros and values up to b
  Codes,           // integer codes in [0, a) (dtype I32)
  Probs,           // U(a, b) clipped into (0, 1)
  Binary,          // 0/1 floats with P(1) = a
  Constant,        // all equal to a
  UniformF64,      // U(a, b) in an f64 tensor whatever the run's float type (double accumulators)
};
struct GenSpec {
  Gen kind = Gen::Uniform;
  double a = -1, b = 1;
};
inline GenSpec uniform(double a = -1, double b = 1) { return {Gen::Uniform, a, b}; }
inline GenSpec nonzero(double a = -1, double b = 1) { return {Gen::UniformNonZero, a, b}; }
inline GenSpec loguniform(double a, double b) { return {Gen::LogUniform, a, b}; }
inline GenSpec counts(double max_count) { return {Gen::Counts, 0, max_count}; }
inline GenSpec codes(int n) { return {Gen::Codes, double(n), 0}; }
inline GenSpec probs(double a = 0.01, double b = 0.99) { return {Gen::Probs, a, b}; }
inline GenSpec binary(double p = 0.5) { return {Gen::Binary, p, 0}; }
inline GenSpec constant(double v) { return {Gen::Constant, v, 0}; }
inline GenSpec absent() { return {Gen::Absent, 0, 0}; }
inline GenSpec uniform_f64(double a, double b) { return {Gen::UniformF64, a, b}; }

struct TestCase {
  std::string label;
  std::vector<Shape> shapes;  // one per input (ignored for absent inputs)
  std::vector<GenSpec> gens;  // one per input
  OpParams p;
  int64_t reduction = 1;      // longest reduction inside the op: scales the CPU-vs-CUDA tolerance
};

// Tolerance classes (tests/ops derive atol/rtol from these, the dtype and TestCase::reduction).
enum class Tol : uint8_t { Exact, Elementwise, Transcendental, Reduction };

struct OpDef {
  std::string name;
  int n_in = 0, n_out = 1, n_aux = 0;
  uint32_t diff_inputs = 0;     // bit i: input i is differentiable
  uint32_t mutated_inputs = 0;  // bit i: forward updates input i in place (running statistics)
  ShapeFn shapes = nullptr;
  KernelFn cpu_fwd_f32 = nullptr, cpu_bwd_f32 = nullptr;
  KernelFn cpu_fwd_f64 = nullptr, cpu_bwd_f64 = nullptr;
  KernelFn cuda_fwd = nullptr, cuda_bwd = nullptr;
  double (*flops)(const Tensor* in, const OpParams& p) = nullptr;  // forward FLOPs
  double (*bytes)(const Tensor* in, const OpParams& p) = nullptr;  // forward bytes moved
  std::vector<TestCase> (*test_cases)() = nullptr;
  std::vector<TestCase> (*bench_cases)() = nullptr;
  Tol tol = Tol::Elementwise;
  bool random = false;      // draws Philox numbers (both backends see the same draws)
  bool grad_check = true;   // false for ops without a backward (gather, optimizer)
  bool kinks = false;       // piecewise (ReLU, clamps): finite differences use nonzero() inputs

  KernelFn fwd(Device d, DType t) const;
  KernelFn bwd(Device d, DType t) const;
};

class Registry {
 public:
  const OpDef& add(OpDef def);
  const OpDef& get(const std::string& name) const;  // fail() if unknown
  const OpDef* find(const std::string& name) const;
  const std::vector<const OpDef*>& all() const { return m_order; }

 private:
  std::vector<std::unique_ptr<OpDef>> m_defs;
  std::vector<const OpDef*> m_order;
};

// The process-wide registry, filled on first use by register_all_ops().
const Registry& registry();
inline const OpDef& op(const std::string& name) { return registry().get(name); }

// Runs one op outside a tape (tests, benches, inference helpers). Outputs/aux must be allocated.
void run_forward(const OpDef& def, OpIO& io);
void run_backward(const OpDef& def, OpIO& io);
// The resolved output/aux specs for given inputs (dtype follows the first float input).
OpShapes infer_shapes(const OpDef& def, const Tensor* in, const OpParams& p);

// Shape-rule helpers for op files.
void expect_rank(const char* op, const char* what, const Tensor& t, int rank);
void expect_float(const char* op, const char* what, const Tensor& t);
void expect_same(const char* op, const char* a, const Tensor& x, const char* b, const Tensor& y);

}  // namespace cuvi
