// Registry storage, kernel selection by device and dtype, and the shape-rule helpers.
#include "engine/registry.h"

#include <mutex>

namespace cuvi {

void register_all_ops(Registry& r);  // engine/ops/all_ops.cpp

KernelFn OpDef::fwd(Device d, DType t) const {
  if (d == Device::CUDA) {
    CUVI_CHECK(t == DType::F32, "op " + name + ": the CUDA path runs in f32 only");
    return cuda_fwd;
  }
  return t == DType::F64 ? cpu_fwd_f64 : cpu_fwd_f32;
}

KernelFn OpDef::bwd(Device d, DType t) const {
  if (d == Device::CUDA) {
    CUVI_CHECK(t == DType::F32, "op " + name + ": the CUDA path runs in f32 only");
    return cuda_bwd;
  }
  return t == DType::F64 ? cpu_bwd_f64 : cpu_bwd_f32;
}

const OpDef& Registry::add(OpDef def) {
  CUVI_CHECK(find(def.name) == nullptr, "op registered twice: " + def.name);
  CUVI_CHECK(def.shapes != nullptr, "op " + def.name + " has no shape rule");
  CUVI_CHECK(def.n_in <= kMaxOpInputs && def.n_out <= kMaxOpOutputs && def.n_aux <= kMaxOpAux,
             "op " + def.name + " has too many tensors");
  m_defs.push_back(std::make_unique<OpDef>(std::move(def)));
  m_order.push_back(m_defs.back().get());
  return *m_defs.back();
}

const OpDef* Registry::find(const std::string& name) const {
  for (const OpDef* d : m_order)
    if (d->name == name) return d;
  return nullptr;
}

const OpDef& Registry::get(const std::string& name) const {
  const OpDef* d = find(name);
  CUVI_CHECK(d != nullptr, "unknown op '" + name + "'");
  return *d;
}

const Registry& registry() {
  static Registry r;
  static std::once_flag once;
  std::call_once(once, [] { register_all_ops(r); });
  return r;
}

static DType op_float_type(const OpDef& def, const Tensor* in) {
  for (int i = 0; i < def.n_in; ++i)
    if (in[i].defined() && is_float(in[i].dtype)) return in[i].dtype;
  return DType::F32;
}

static Device op_device(const OpDef& def, const Tensor* in) {
  for (int i = 0; i < def.n_in; ++i)
    if (in[i].defined()) return in[i].device;
  return Device::CPU;
}

OpShapes infer_shapes(const OpDef& def, const Tensor* in, const OpParams& p) {
  OpShapes s;
  def.shapes(in, p, &s);
  const DType ft = op_float_type(def, in);
  for (auto& t : s.out)
    if (t.is_float) t.dtype = ft;
  for (auto& t : s.aux)
    if (t.is_float) t.dtype = ft;
  return s;
}

void run_forward(const OpDef& def, OpIO& io) {
  KernelFn k = def.fwd(op_device(def, io.in), op_float_type(def, io.in));
  CUVI_CHECK(k != nullptr, "op " + def.name + " has no forward kernel for this device/dtype");
  k(io);
}

void run_backward(const OpDef& def, OpIO& io) {
  KernelFn k = def.bwd(op_device(def, io.in), op_float_type(def, io.in));
  CUVI_CHECK(k != nullptr, "op " + def.name + " has no backward kernel for this device/dtype");
  k(io);
}

void expect_rank(const char* op, const char* what, const Tensor& t, int rank) {
  CUVI_CHECK(t.defined() || t.numel() >= 0, std::string(op) + ": missing " + what);
  CUVI_CHECK(t.ndim() == rank, std::string(op) + ": " + what + " must have rank " + std::to_string(rank) +
                                   ", got shape " + t.shape.str());
  CUVI_CHECK(t.is_contiguous(), std::string(op) + ": " + what + " must be contiguous");
}

void expect_float(const char* op, const char* what, const Tensor& t) {
  CUVI_CHECK(is_float(t.dtype), std::string(op) + ": " + what + " must be a float tensor, got " + dtype_name(t.dtype));
}

void expect_same(const char* op, const char* a, const Tensor& x, const char* b, const Tensor& y) {
  CUVI_CHECK(x.shape == y.shape, std::string(op) + ": " + a + " " + x.shape.str() + " and " + b + " " +
                                     y.shape.str() + " must have the same shape");
}

}  // namespace cuvi
