// Tape: a linear list of plain-data nodes recorded in forward order as ops run, walked backward.
// Gradients of tensors with several consumers accumulate; the first writer overwrites (no memsets).
#pragma once
#include <initializer_list>
#include <vector>

#include "engine/arena.h"
#include "engine/registry.h"

namespace cuvi {

using TensorId = int32_t;
constexpr TensorId kNoTensor = -1;

class Tape {
 public:
  // activations: the per-step arena (reset by begin_step); a measuring arena plans a step.
  Tape(Backend& backend, Arena& activations);

  void begin_step();  // forget nodes, reset the activation arena
  bool planning() const { return m_arena->is_measuring(); }
  Backend& backend() { return *m_backend; }
  Arena& arena() { return *m_arena; }

  TensorId input(const Tensor& t);  // data or buffer: no gradient
  TensorId param(const Tensor& value, const Tensor& grad, int param_index);  // trainable
  TensorId detach(TensorId id);     // same value, gradient stops here
  // Same memory, new shape (same element count); gradients flow to the original tensor.
  TensorId reshape(TensorId id, const Shape& shape);
  // Runs the op's forward now (unless planning) and records it. Use kNoTensor for absent inputs.
  std::vector<TensorId> apply(const OpDef& op, std::initializer_list<TensorId> inputs, const OpParams& p = {});
  TensorId apply1(const OpDef& op, std::initializer_list<TensorId> inputs, const OpParams& p = {}) {
    return apply(op, inputs, p)[0];
  }
  TensorId apply1(const char* op_name, std::initializer_list<TensorId> inputs, const OpParams& p = {}) {
    return apply(op(op_name), inputs, p)[0];
  }

  const Tensor& value(TensorId id) const;
  const Tensor& grad(TensorId id) const;      // undefined when no gradient reached it
  bool needs_grad(TensorId id) const;

  // Seeds d(loss) = 1 (loss holds one element) and runs every node's backward in reverse.
  void backward(TensorId loss);
  // After backward(): which parameters received a gradient this step.
  const std::vector<int>& params_with_grad() const { return m_params_with_grad; }
  size_t n_nodes() const { return m_nodes.size(); }

 private:
  struct Slot {
    Tensor value;
    Tensor grad;
    bool needs_grad = false;
    bool grad_written = false;
    int param = -1;
    TensorId alias_of = kNoTensor;  // reshape views share the source's gradient
  };
  struct Node {
    const OpDef* op = nullptr;
    TensorId in[kMaxOpInputs];
    TensorId out[kMaxOpOutputs];
    Tensor aux[kMaxOpAux];
    OpParams p;
  };
  TensorId add_slot(const Tensor& t, bool needs_grad, int param);
  TensorId resolve(TensorId id) const;  // follows reshape views to the slot that owns the gradient
  Tensor& grad_buffer(Slot& s);

  Backend* m_backend;
  Arena* m_arena;
  DeviceBuffer m_one;  // 1.0f and 1.0 (double): the seed gradient, outside the activation arena
  std::vector<Slot> m_slots;
  std::vector<Node> m_nodes;
  std::vector<int> m_params_with_grad;
  std::vector<TensorId> m_param_slot;  // param index -> its slot this step (one slot per parameter)
};

}  // namespace cuvi
