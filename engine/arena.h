// Arena: one reservation per role, bump-allocated (256-byte aligned) and reset, never freed per step.
// In measuring mode it only counts bytes, which is how a step's activation memory is planned.
#pragma once
#include <cstddef>

#include "engine/backend.h"
#include "engine/tensor.h"

namespace cuvi {

class Arena {
 public:
  static constexpr size_t kAlign = 256;
  Arena() = default;
  Arena(Backend& backend, size_t capacity_bytes, const char* role);
  // Measuring arena: hands out fake, never-dereferenced pointers and tracks the high-water mark.
  static Arena measuring(Device device, const char* role);

  void* allocate(size_t bytes);
  Tensor tensor(DType t, const Shape& s) { return Tensor(allocate(s.numel() * dtype_size(t)), t, m_device, s); }
  void reset() { m_used = 0; }
  // Frees everything allocated after a mark taken with used() (loops inside one step).
  void rewind(size_t mark) { m_used = mark < m_used ? mark : m_used; }
  size_t used() const { return m_used; }
  size_t high_water() const { return m_high; }
  size_t capacity() const { return m_buffer.size(); }
  bool is_measuring() const { return m_measuring; }
  Device device() const { return m_device; }

 private:
  DeviceBuffer m_buffer;
  Device m_device = Device::CPU;
  const char* m_role = "arena";
  size_t m_used = 0, m_high = 0;
  bool m_measuring = false;
};

inline size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace cuvi
