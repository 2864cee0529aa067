// Registry-driven op harness: builds inputs from an op's TestCase, runs forward/backward on a
// backend with guard regions around every written tensor, and returns host copies in double.
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/registry.h"

namespace cuvi::test {

struct HostTensor {
  bool present = false;
  DType dtype = DType::F32;  // F32 stands for "the run's float type"; I32 for codes
  Shape shape;
  std::vector<double> v;
};

struct RunResult {
  std::vector<HostTensor> out, aux, d_in;
  std::vector<HostTensor> mutated;  // per input: its value after forward when the op updates it in place
  bool guards_intact = true;
  std::string guard_report;
};

std::vector<HostTensor> make_inputs(const OpDef& op, const TestCase& tc, uint64_t seed);
// Rounds float inputs to f32 so that f32 and f64 runs see identical values.
void round_to_f32(std::vector<HostTensor>& inputs);

// Runs forward and, when d_out is given, backward. float_type: F32 or F64 (CPU only).
// d_in_init: if non-empty, gradient buffers start from these values and accumulate = true.
RunResult run_op(Backend& backend, const OpDef& op, const TestCase& tc, const std::vector<HostTensor>& inputs,
                 DType float_type, const std::vector<HostTensor>* d_out = nullptr,
                 const std::vector<HostTensor>* d_in_init = nullptr, uint32_t grad_mask = 0xffffffffu);

// Random weights shaped like the float outputs (the projection used by gradient checks).
std::vector<HostTensor> random_like(const std::vector<HostTensor>& outs, uint64_t seed);
double weighted_sum(const std::vector<HostTensor>& outs, const std::vector<HostTensor>& w);

// All (op, case) pairs of the registry, for parameterised tests.
struct OpCaseRef {
  const OpDef* op;
  TestCase tc;
  std::string id;  // "linear/bias"
};
std::vector<OpCaseRef> all_op_cases();
inline void PrintTo(const OpCaseRef& c, std::ostream* os) { *os << c.id; }
std::string gtest_name(const std::string& id);

// Relative + absolute tolerance for comparing an f32 result with a reference.
struct Tolerance {
  double rtol, atol_scale;  // |a - b| <= rtol * |ref| + atol_scale * rms(ref) + 1e-30
};
Tolerance tolerance_for(Tol cls, int64_t reduction);
// Returns "" when every element agrees, else a description of the worst element.
std::string compare(const HostTensor& ref, const HostTensor& got, Tolerance tol, const std::string& what);

}  // namespace cuvi::test
