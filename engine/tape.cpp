// Tape implementation: eager forward with arena outputs, reverse walk with overwrite-then-accumulate.
#include "engine/tape.h"

#include <algorithm>
#include <cstring>

namespace cuvi {

Tape::Tape(Backend& backend, Arena& activations)
    : m_backend(&backend), m_arena(&activations), m_one(backend, 16) {
  unsigned char host[16];
  const float f = 1.0f;
  const double d = 1.0;
  std::memcpy(host, &f, 4);
  std::memset(host + 4, 0, 4);
  std::memcpy(host + 8, &d, 8);
  backend.upload(m_one.data(), host, 16);
  m_slots.reserve(512);
  m_nodes.reserve(256);
}

void Tape::begin_step() {
  m_slots.clear();
  m_nodes.clear();
  m_params_with_grad.clear();
  std::fill(m_param_slot.begin(), m_param_slot.end(), kNoTensor);
  m_arena->reset();
}

TensorId Tape::add_slot(const Tensor& t, bool needs_grad, int param) {
  Slot s;
  s.value = t;
  s.needs_grad = needs_grad;
  s.param = param;
  m_slots.push_back(s);
  return static_cast<TensorId>(m_slots.size() - 1);
}

TensorId Tape::input(const Tensor& t) { return add_slot(t, false, -1); }

TensorId Tape::param(const Tensor& value, const Tensor& grad, int param_index) {
  if (param_index >= static_cast<int>(m_param_slot.size())) m_param_slot.resize(param_index + 1, kNoTensor);
  if (m_param_slot[param_index] != kNoTensor) return m_param_slot[param_index];
  TensorId id = add_slot(value, true, param_index);
  m_slots[id].grad = grad;
  m_param_slot[param_index] = id;
  return id;
}

TensorId Tape::detach(TensorId id) { return add_slot(value(id), false, -1); }

TensorId Tape::reshape(TensorId id, const Shape& shape) {
  const Tensor& v = value(id);
  CUVI_CHECK(shape.numel() == v.numel(), "reshape: cannot view " + v.shape.str() + " as " + shape.str());
  CUVI_CHECK(v.is_contiguous(), "reshape: the tensor must be contiguous");
  TensorId r = add_slot(Tensor(v.data, v.dtype, v.device, shape), m_slots[id].needs_grad, -1);
  m_slots[r].alias_of = resolve(id);
  return r;
}

TensorId Tape::resolve(TensorId id) const {
  while (m_slots[id].alias_of != kNoTensor) id = m_slots[id].alias_of;
  return id;
}

const Tensor& Tape::value(TensorId id) const {
  CUVI_CHECK(id >= 0 && id < static_cast<TensorId>(m_slots.size()), "tape: bad tensor id");
  return m_slots[id].value;
}

const Tensor& Tape::grad(TensorId id) const {
  static const Tensor none;
  const Slot& s = m_slots.at(resolve(id));
  if (!s.grad_written) return none;
  if (id == resolve(id)) return s.grad;
  thread_local Tensor view;
  view = Tensor(s.grad.data, s.grad.dtype, s.grad.device, m_slots[id].value.shape);
  return view;
}

bool Tape::needs_grad(TensorId id) const { return m_slots.at(id).needs_grad; }

std::vector<TensorId> Tape::apply(const OpDef& def, std::initializer_list<TensorId> inputs, const OpParams& p) {
  CUVI_CHECK(static_cast<int>(inputs.size()) == def.n_in,
             "op " + def.name + " takes " + std::to_string(def.n_in) + " inputs, got " +
                 std::to_string(inputs.size()));
  Node node;
  node.op = &def;
  node.p = p;
  Tensor in[kMaxOpInputs];
  bool needs = false;
  int i = 0;
  for (TensorId id : inputs) {
    node.in[i] = id;
    if (id != kNoTensor) {
      in[i] = value(id);
      if ((def.diff_inputs >> i & 1u) && m_slots[id].needs_grad) needs = true;
    }
    ++i;
  }
  const OpShapes shapes = infer_shapes(def, in, p);
  Tensor out[kMaxOpOutputs];
  for (int j = 0; j < def.n_out; ++j) out[j] = m_arena->tensor(shapes.out[j].dtype, shapes.out[j].shape);
  for (int j = 0; j < def.n_aux; ++j) node.aux[j] = m_arena->tensor(shapes.aux[j].dtype, shapes.aux[j].shape);
  if (!planning()) {
    OpIO io;
    io.in = in;
    io.n_in = def.n_in;
    io.out = out;
    io.n_out = def.n_out;
    io.aux = node.aux;
    io.n_aux = def.n_aux;
    io.p = &node.p;
    io.ctx = &m_backend->ctx();
    run_forward(def, io);
  }
  std::vector<TensorId> ids(def.n_out);
  for (int j = 0; j < def.n_out; ++j) {
    ids[j] = add_slot(out[j], needs && is_float(out[j].dtype), -1);
    node.out[j] = ids[j];
  }
  if (needs) m_nodes.push_back(node);  // nodes that cannot carry a gradient are not recorded
  return ids;
}

Tensor& Tape::grad_buffer(Slot& s) {
  if (!s.grad.defined()) s.grad = m_arena->tensor(s.value.dtype, s.value.shape);
  return s.grad;
}

void Tape::backward(TensorId loss) {
  Slot& ls = m_slots.at(resolve(loss));
  CUVI_CHECK(ls.value.numel() == 1, "backward: the loss must hold one element, got " + ls.value.shape.str());
  CUVI_CHECK(ls.needs_grad, "backward: the loss does not depend on any parameter");
  ls.grad = Tensor(static_cast<char*>(m_one.data()) + (ls.value.dtype == DType::F64 ? 8 : 0), ls.value.dtype,
                   ls.value.device, ls.value.shape);
  ls.grad_written = true;

  for (auto it = m_nodes.rbegin(); it != m_nodes.rend(); ++it) {
    Node& node = *it;
    const OpDef& def = *node.op;
    Tensor d_out[kMaxOpOutputs];
    bool any = false;
    for (int j = 0; j < def.n_out; ++j) {
      const Slot& s = m_slots[node.out[j]];
      if (s.grad_written) {
        d_out[j] = s.grad;
        any = true;
      }
    }
    if (!any) continue;
    Tensor in[kMaxOpInputs], d_in[kMaxOpInputs];
    bool acc[kMaxOpInputs] = {};
    for (int i = 0; i < def.n_in; ++i) {
      if (node.in[i] == kNoTensor) continue;
      const Slot& view = m_slots[node.in[i]];
      Slot& s = m_slots[resolve(node.in[i])];
      in[i] = view.value;
      if (!((def.diff_inputs >> i) & 1u) || !s.needs_grad) continue;
      for (int k = 0; k < i; ++k)
        CUVI_CHECK(node.in[k] == kNoTensor || resolve(node.in[k]) != resolve(node.in[i]) ||
                       !((def.diff_inputs >> k) & 1u),
                   "op " + def.name + ": the same tensor is used twice as a differentiable input");
      const Tensor& g = grad_buffer(s);
      d_in[i] = Tensor(g.data, g.dtype, g.device, view.value.shape);
      acc[i] = s.grad_written;
    }
    Tensor out[kMaxOpOutputs];
    for (int j = 0; j < def.n_out; ++j) out[j] = m_slots[node.out[j]].value;
    if (!planning()) {
      OpIO io;
      io.in = in;
      io.n_in = def.n_in;
      io.out = out;
      io.n_out = def.n_out;
      io.aux = node.aux;
      io.n_aux = def.n_aux;
      io.d_out = d_out;
      io.d_in = d_in;
      io.accumulate = acc;
      io.p = &node.p;
      io.ctx = &m_backend->ctx();
      run_backward(def, io);
    }
    for (int i = 0; i < def.n_in; ++i)
      if (d_in[i].defined()) m_slots[resolve(node.in[i])].grad_written = true;
  }
  m_params_with_grad.clear();
  for (const Slot& s : m_slots)
    if (s.param >= 0 && s.grad_written) m_params_with_grad.push_back(s.param);
  std::sort(m_params_with_grad.begin(), m_params_with_grad.end());
  m_params_with_grad.erase(std::unique(m_params_with_grad.begin(), m_params_with_grad.end()),
                           m_params_with_grad.end());
}

}  // namespace cuvi
