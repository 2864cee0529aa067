// Op harness implementation: input generation, guarded buffers, host<->backend conversion.
#include "tests/ops/harness.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "kernels/common/philox.h"

namespace cuvi::test {
namespace {

constexpr size_t kGuardBytes = 256;
constexpr unsigned char kSentinel = 0xA5;

// One guarded allocation: [guard | payload | guard], guards filled with a sentinel.
struct Guarded {
  DeviceBuffer buf;
  size_t payload = 0;
  void* data() const { return static_cast<char*>(buf.data()) + kGuardBytes; }
};

Guarded guarded(Backend& b, size_t bytes) {
  Guarded g;
  g.payload = bytes;
  g.buf = DeviceBuffer(b, bytes + 2 * kGuardBytes);
  std::vector<unsigned char> fill(bytes + 2 * kGuardBytes, kSentinel);
  b.upload(g.buf.data(), fill.data(), fill.size());
  return g;
}

bool guards_ok(Backend& b, const Guarded& g) {
  std::vector<unsigned char> host(g.payload + 2 * kGuardBytes);
  b.download(host.data(), g.buf.data(), host.size());
  for (size_t i = 0; i < kGuardBytes; ++i)
    if (host[i] != kSentinel || host[kGuardBytes + g.payload + i] != kSentinel) return false;
  return true;
}

void to_bytes(const HostTensor& h, DType t, std::vector<unsigned char>& out) {
  out.resize(h.v.size() * dtype_size(t));
  for (size_t i = 0; i < h.v.size(); ++i) {
    switch (t) {
      case DType::F32: { float f = float(h.v[i]); std::memcpy(&out[i * 4], &f, 4); break; }
      case DType::F64: { double d = h.v[i]; std::memcpy(&out[i * 8], &d, 8); break; }
      case DType::I32: { int32_t x = int32_t(h.v[i]); std::memcpy(&out[i * 4], &x, 4); break; }
      case DType::I64: { int64_t x = int64_t(h.v[i]); std::memcpy(&out[i * 8], &x, 8); break; }
      case DType::U8: { out[i] = static_cast<unsigned char>(h.v[i]); break; }
    }
  }
}

HostTensor from_bytes(const unsigned char* p, DType t, const Shape& s) {
  HostTensor h;
  h.present = true;
  h.dtype = t;
  h.shape = s;
  h.v.resize(s.numel());
  for (size_t i = 0; i < h.v.size(); ++i) {
    switch (t) {
      case DType::F32: { float f; std::memcpy(&f, p + i * 4, 4); h.v[i] = f; break; }
      case DType::F64: { double d; std::memcpy(&d, p + i * 8, 8); h.v[i] = d; break; }
      case DType::I32: { int32_t x; std::memcpy(&x, p + i * 4, 4); h.v[i] = x; break; }
      case DType::I64: { int64_t x; std::memcpy(&x, p + i * 8, 8); h.v[i] = double(x); break; }
      case DType::U8: h.v[i] = p[i]; break;
    }
  }
  return h;
}

struct Bound {
  std::vector<Guarded> bufs;
  Tensor t;
};

}  // namespace

std::vector<HostTensor> make_inputs(const OpDef& op, const TestCase& tc, uint64_t seed) {
  std::vector<HostTensor> v(op.n_in);
  CUVI_CHECK(static_cast<int>(tc.gens.size()) == op.n_in && static_cast<int>(tc.shapes.size()) == op.n_in,
             "test case " + op.name + "/" + tc.label + " must give a shape and a generator per input");
  for (int i = 0; i < op.n_in; ++i) {
    const GenSpec g = tc.gens[i];
    HostTensor& h = v[i];
    if (g.kind == Gen::Absent) continue;
    h.present = true;
    h.shape = tc.shapes[i];
    h.dtype = g.kind == Gen::Codes ? DType::I32 : (g.kind == Gen::UniformF64 ? DType::F64 : DType::F32);
    h.v.resize(h.shape.numel());
    const uint32_t stream = 1000 + i;
    for (size_t k = 0; k < h.v.size(); ++k) {
      const double u = philox_uniform(seed, 7, stream, 2 * k);
      const double u2 = philox_uniform(seed, 7, stream, 2 * k + 1);
      double x = 0;
      switch (g.kind) {
        case Gen::Absent: break;
        case Gen::Uniform:
        case Gen::UniformF64: x = g.a + (g.b - g.a) * u; break;
        case Gen::UniformNonZero: {
          x = g.a + (g.b - g.a) * u;
          if (std::fabs(x) < 0.05) x = x < 0 ? -0.05 - std::fabs(x) : 0.05 + x;
          break;
        }
        case Gen::LogUniform: x = std::exp(std::log(g.a) + (std::log(g.b) - std::log(g.a)) * u); break;
        case Gen::Counts: x = u < 0.4 ? 0.0 : std::floor(std::exp(u2 * std::log(g.b + 1.0))); break;
        case Gen::Codes: x = std::floor(u * g.a); break;
        case Gen::Probs: x = std::min(0.999, std::max(0.001, g.a + (g.b - g.a) * u)); break;
        case Gen::Binary: x = u < g.a ? 1.0 : 0.0; break;
        case Gen::Constant: x = g.a; break;
      }
      h.v[k] = x;
    }
  }
  return v;
}

void round_to_f32(std::vector<HostTensor>& inputs) {
  for (auto& h : inputs)
    if (h.present && h.dtype == DType::F32)
      for (auto& x : h.v) x = static_cast<double>(static_cast<float>(x));
}

RunResult run_op(Backend& backend, const OpDef& op, const TestCase& tc, const std::vector<HostTensor>& inputs,
                 DType float_type, const std::vector<HostTensor>* d_out, const std::vector<HostTensor>* d_in_init,
                 uint32_t grad_mask) {
  const Device dev = backend.device();
  std::vector<Guarded> keep;
  auto upload = [&](const HostTensor& h) {
    const DType t = h.dtype == DType::F32 ? float_type : h.dtype;
    std::vector<unsigned char> bytes;
    to_bytes(h, t, bytes);
    keep.push_back(guarded(backend, bytes.size()));
    backend.upload(keep.back().data(), bytes.data(), bytes.size());
    return Tensor(keep.back().data(), t, dev, h.shape);
  };
  Tensor in[kMaxOpInputs];
  std::vector<size_t> written;  // guarded buffers a kernel may write
  for (int i = 0; i < op.n_in; ++i)
    if (inputs[i].present) {
      in[i] = upload(inputs[i]);
      if ((op.mutated_inputs >> i) & 1u) written.push_back(keep.size() - 1);
    }
  const OpShapes s = infer_shapes(op, in, tc.p);
  auto alloc = [&](const TensorSpec& spec, size_t* index) {
    const DType t = spec.is_float ? float_type : spec.dtype;
    keep.push_back(guarded(backend, spec.shape.numel() * dtype_size(t)));
    *index = keep.size() - 1;
    return Tensor(keep.back().data(), t, dev, spec.shape);
  };
  Tensor out[kMaxOpOutputs], aux[kMaxOpAux];
  for (int j = 0; j < op.n_out; ++j) {
    size_t k;
    out[j] = alloc(s.out[j], &k);
    written.push_back(k);
  }
  for (int j = 0; j < op.n_aux; ++j) {
    size_t k;
    aux[j] = alloc(s.aux[j], &k);
    written.push_back(k);
  }
  OpIO io;
  io.in = in;
  io.n_in = op.n_in;
  io.out = out;
  io.n_out = op.n_out;
  io.aux = aux;
  io.n_aux = op.n_aux;
  io.p = &tc.p;
  io.ctx = &backend.ctx();
  run_forward(op, io);

  RunResult r;
  auto download = [&](const Tensor& t) {
    std::vector<unsigned char> bytes(t.nbytes());
    backend.download(bytes.data(), t.data, bytes.size());
    return from_bytes(bytes.data(), t.dtype, t.shape);
  };
  for (int j = 0; j < op.n_out; ++j) r.out.push_back(download(out[j]));
  for (int j = 0; j < op.n_aux; ++j) r.aux.push_back(download(aux[j]));

  if (d_out) {
    Tensor dout[kMaxOpOutputs], din[kMaxOpInputs];
    bool accum[kMaxOpInputs] = {};
    for (int j = 0; j < op.n_out; ++j)
      if ((*d_out)[j].present) dout[j] = upload((*d_out)[j]);
    for (int i = 0; i < op.n_in; ++i) {
      if (!((op.diff_inputs >> i) & 1u) || !((grad_mask >> i) & 1u) || !inputs[i].present) continue;
      size_t k;
      din[i] = alloc(TensorSpec{inputs[i].shape, DType::F32, true}, &k);
      written.push_back(k);
      if (d_in_init) {
        std::vector<unsigned char> bytes;
        to_bytes((*d_in_init)[i], din[i].dtype, bytes);
        backend.upload(din[i].data, bytes.data(), bytes.size());
        accum[i] = true;
      }
    }
    io.d_out = dout;
    io.d_in = din;
    io.accumulate = accum;
    run_backward(op, io);
    r.d_in.resize(op.n_in);
    for (int i = 0; i < op.n_in; ++i)
      if (din[i].defined()) r.d_in[i] = download(din[i]);
  }
  backend.synchronize();
  for (size_t k : written)
    if (!guards_ok(backend, keep[k])) {
      r.guards_intact = false;
      r.guard_report = "a kernel of " + op.name + "/" + tc.label + " wrote outside its output tensor";
    }
  // Mutated inputs (running statistics, optimizer state) are returned for comparison; they are
  // also appended to aux for callers that inspect them there.
  r.mutated.resize(op.n_in);
  for (int i = 0; i < op.n_in; ++i)
    if (((op.mutated_inputs >> i) & 1u) && in[i].defined()) {
      r.mutated[i] = download(in[i]);
      r.aux.push_back(r.mutated[i]);
    }
  return r;
}

std::vector<HostTensor> random_like(const std::vector<HostTensor>& outs, uint64_t seed) {
  std::vector<HostTensor> w(outs.size());
  for (size_t j = 0; j < outs.size(); ++j) {
    if (!is_float(outs[j].dtype)) continue;
    w[j] = outs[j];
    w[j].dtype = DType::F32;
    for (size_t k = 0; k < w[j].v.size(); ++k) w[j].v[k] = 2.0 * philox_uniform(seed, 9, uint32_t(j), k) - 1.0;
  }
  return w;
}

double weighted_sum(const std::vector<HostTensor>& outs, const std::vector<HostTensor>& w) {
  double s = 0;
  for (size_t j = 0; j < outs.size(); ++j)
    if (w[j].present)
      for (size_t k = 0; k < outs[j].v.size(); ++k) s += outs[j].v[k] * w[j].v[k];
  return s;
}

std::vector<OpCaseRef> all_op_cases() {
  std::vector<OpCaseRef> v;
  for (const OpDef* d : registry().all()) {
    if (!d->test_cases) continue;
    for (const TestCase& tc : d->test_cases()) v.push_back({d, tc, d->name + "/" + tc.label});
  }
  return v;
}

std::string gtest_name(const std::string& id) {
  std::string s;
  for (char c : id) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s;
}

Tolerance tolerance_for(Tol cls, int64_t reduction) {
  const double eps = 1.1920929e-7;
  switch (cls) {
    case Tol::Exact: return {0, 0};
    case Tol::Elementwise: return {8 * eps, 8 * eps};
    case Tol::Transcendental: return {64 * eps, 16 * eps};
    case Tol::Reduction: {
      const double k = std::sqrt(double(std::max<int64_t>(reduction, 1)));
      return {16 * eps * k, 16 * eps * k};
    }
  }
  return {0, 0};
}

std::string compare(const HostTensor& ref, const HostTensor& got, Tolerance tol, const std::string& what) {
  if (ref.v.size() != got.v.size()) return what + ": size mismatch";
  double ss = 0;
  size_t n_finite = 0;
  for (double x : ref.v)
    if (std::isfinite(x)) {
      ss += x * x;
      ++n_finite;
    }
  const double rms = n_finite ? std::sqrt(ss / n_finite) : 0.0;
  double worst = 0;
  size_t worst_i = 0;
  size_t bad = 0;
  for (size_t i = 0; i < ref.v.size(); ++i) {
    const double a = ref.v[i], b = got.v[i];
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) != std::isnan(b)) {
        ++bad;
        worst_i = i;
        worst = INFINITY;
      }
      continue;
    }
    if (std::isinf(a) || std::isinf(b)) {
      if (a != b) {
        ++bad;
        worst_i = i;
        worst = INFINITY;
      }
      continue;
    }
    const double lim = tol.rtol * std::fabs(a) + tol.atol_scale * rms + 1e-30;
    const double err = std::fabs(a - b);
    if (err > lim) {
      ++bad;
      if (err / lim > worst) {
        worst = err / lim;
        worst_i = i;
      }
    }
  }
  if (!bad) return "";
  std::ostringstream s;
  s.precision(10);
  s << what << ": " << bad << " of " << ref.v.size() << " elements differ; worst at " << worst_i << ": ref "
    << ref.v[worst_i] << " got " << got.v[worst_i] << " (" << worst << "x the tolerance, rtol " << tol.rtol << ")";
  return s.str();
}

}  // namespace cuvi::test
