// ParamStore: every trainable parameter, its gradient and its Adam moments in one flat buffer
// (params | grads | m | v), plus non-trained buffers (running statistics, priors) in a second one.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/tensor.h"

namespace cuvi {

enum class InitKind : uint8_t { Zeros, Constant, Uniform, Normal, TorchLinear };
struct Init {
  InitKind kind = InitKind::Zeros;
  double a = 0, b = 0;  // Constant(a); Uniform(a, b); Normal(mean a, std b); TorchLinear(fan_in a)
  static Init zeros() { return {InitKind::Zeros, 0, 0}; }
  static Init constant(double v) { return {InitKind::Constant, v, 0}; }
  static Init uniform(double lo, double hi) { return {InitKind::Uniform, lo, hi}; }
  static Init normal(double mean, double std) { return {InitKind::Normal, mean, std}; }
  // torch.nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
  static Init torch_linear(int64_t fan_in) { return {InitKind::TorchLinear, double(fan_in), 0}; }
};

struct ParamEntry {
  std::string name;
  Shape shape;
  Init init;
  bool trainable = true;
  size_t offset = 0;  // in floats, into the flat params (trainable) or buffers region
};

class ParamStore {
 public:
  static constexpr size_t kAlignFloats = 64;  // 256 bytes: every tensor starts on a vector boundary

  int add(const std::string& name, const Shape& shape, Init init);         // trainable parameter
  int add_buffer(const std::string& name, const Shape& shape, Init init);  // saved, not trained
  // One allocation for params|grads|m|v and one for buffers; then initialize() fills them.
  void allocate(Backend& backend);
  void initialize(uint64_t seed);  // Philox stream per entry name
  bool allocated() const { return m_backend != nullptr; }

  int find(const std::string& name) const;  // -1 when absent
  const ParamEntry& entry(int id) const { return m_entries.at(id); }
  const std::vector<ParamEntry>& entries() const { return m_entries; }
  Tensor value(int id) const;
  Tensor grad(int id) const;  // trainable only
  size_t n_trainable_floats() const { return m_n_params; }  // padded length of each flat region
  float* flat_params() const;
  float* flat_grads() const;
  float* flat_m() const;
  float* flat_v() const;

  // Host copies by entry (used for checkpoints, fixtures and tests).
  std::vector<float> get(int id) const;
  void set(int id, const std::vector<float>& host);
  void zero_optimizer_state();

 private:
  int add_entry(const std::string& name, const Shape& shape, Init init, bool trainable);
  std::vector<ParamEntry> m_entries;
  size_t m_n_params = 0, m_n_buffers = 0;
  Backend* m_backend = nullptr;
  DeviceBuffer m_flat, m_buffers;
};

}  // namespace cuvi
