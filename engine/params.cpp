// ParamStore implementation: layout planning, Philox initialisation on the host, host get/set.
#include "engine/params.h"

#include <cmath>

#include "engine/arena.h"
#include "kernels/common/philox.h"

namespace cuvi {

int ParamStore::add_entry(const std::string& name, const Shape& shape, Init init, bool trainable) {
  CUVI_CHECK(!allocated(), "parameter '" + name + "' declared after the store was allocated");
  CUVI_CHECK(find(name) < 0, "parameter declared twice: " + name);
  ParamEntry e;
  e.name = name;
  e.shape = shape;
  e.init = init;
  e.trainable = trainable;
  size_t& total = trainable ? m_n_params : m_n_buffers;
  e.offset = total;
  total += align_up(static_cast<size_t>(shape.numel()), kAlignFloats);
  m_entries.push_back(e);
  return static_cast<int>(m_entries.size() - 1);
}

int ParamStore::add(const std::string& name, const Shape& shape, Init init) {
  return add_entry(name, shape, init, true);
}
int ParamStore::add_buffer(const std::string& name, const Shape& shape, Init init) {
  return add_entry(name, shape, init, false);
}

int ParamStore::find(const std::string& name) const {
  for (size_t i = 0; i < m_entries.size(); ++i)
    if (m_entries[i].name == name) return static_cast<int>(i);
  return -1;
}

void ParamStore::allocate(Backend& backend) {
  CUVI_CHECK(!allocated(), "parameter store allocated twice");
  m_backend = &backend;
  m_flat = DeviceBuffer(backend, std::max<size_t>(1, 4 * m_n_params) * sizeof(float));
  m_buffers = DeviceBuffer(backend, std::max<size_t>(1, m_n_buffers) * sizeof(float));
  backend.fill_zero(m_flat.data(), m_flat.size());
  backend.fill_zero(m_buffers.data(), m_buffers.size());
}

float* ParamStore::flat_params() const { return static_cast<float*>(m_flat.data()); }
float* ParamStore::flat_grads() const { return flat_params() + m_n_params; }
float* ParamStore::flat_m() const { return flat_params() + 2 * m_n_params; }
float* ParamStore::flat_v() const { return flat_params() + 3 * m_n_params; }

Tensor ParamStore::value(int id) const {
  const ParamEntry& e = entry(id);
  CUVI_CHECK(allocated(), "parameter store used before allocate()");
  float* base = e.trainable ? flat_params() : static_cast<float*>(m_buffers.data());
  return Tensor(base + e.offset, DType::F32, m_backend->device(), e.shape);
}

Tensor ParamStore::grad(int id) const {
  const ParamEntry& e = entry(id);
  CUVI_CHECK(e.trainable, "buffer '" + e.name + "' has no gradient");
  return Tensor(flat_grads() + e.offset, DType::F32, m_backend->device(), e.shape);
}

std::vector<float> ParamStore::get(int id) const {
  Tensor t = value(id);
  std::vector<float> host(t.numel());
  m_backend->download(host.data(), t.data, t.nbytes());
  return host;
}

void ParamStore::set(int id, const std::vector<float>& host) {
  Tensor t = value(id);
  CUVI_CHECK(static_cast<int64_t>(host.size()) == t.numel(),
             "parameter '" + entry(id).name + "': expected " + std::to_string(t.numel()) + " values, got " +
                 std::to_string(host.size()));
  m_backend->upload(t.data, host.data(), t.nbytes());
}

void ParamStore::zero_optimizer_state() {
  m_backend->fill_zero(flat_m(), 2 * m_n_params * sizeof(float));
}

void ParamStore::initialize(uint64_t seed) {
  for (size_t id = 0; id < m_entries.size(); ++id) {
    const ParamEntry& e = m_entries[id];
    std::vector<float> host(e.shape.numel());
    uint32_t stream = 2166136261u;  // FNV-1a of the name: adding a parameter moves no other's draws
    for (char c : e.name) stream = (stream ^ static_cast<unsigned char>(c)) * 16777619u;
    for (size_t k = 0; k < host.size(); ++k) {
      double v = 0;
      switch (e.init.kind) {
        case InitKind::Zeros: v = 0; break;
        case InitKind::Constant: v = e.init.a; break;
        case InitKind::Uniform:
          v = e.init.a + (e.init.b - e.init.a) * philox_uniform(seed, 0, stream, k);
          break;
        case InitKind::Normal: v = e.init.a + e.init.b * philox_normal(seed, 0, stream, k); break;
        case InitKind::TorchLinear: {
          const double bound = 1.0 / std::sqrt(e.init.a);
          v = -bound + 2 * bound * philox_uniform(seed, 0, stream, k);
          break;
        }
      }
      host[k] = static_cast<float>(v);
    }
    set(static_cast<int>(id), host);
  }
  zero_optimizer_state();
}

}  // namespace cuvi
