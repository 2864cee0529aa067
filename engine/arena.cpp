// Arena implementation: bump allocation inside one DeviceBuffer, or byte counting when measuring.
#include "engine/arena.h"

#include <cstdint>

namespace cuvi {

Arena::Arena(Backend& backend, size_t capacity_bytes, const char* role)
    : m_buffer(backend, capacity_bytes), m_device(backend.device()), m_role(role) {}

Arena Arena::measuring(Device device, const char* role) {
  Arena a;
  a.m_device = device;
  a.m_role = role;
  a.m_measuring = true;
  return a;
}

void* Arena::allocate(size_t bytes) {
  const size_t offset = m_used;
  m_used = align_up(m_used + (bytes ? bytes : 1), kAlign);
  if (m_used > m_high) m_high = m_used;
  if (m_measuring) return reinterpret_cast<void*>(static_cast<uintptr_t>(kAlign + offset));
  if (m_used > m_buffer.size())
    fail(std::string(m_role) + " arena overflow: " + std::to_string(m_used) + " bytes needed, " +
         std::to_string(m_buffer.size()) + " reserved (the step was planned for a smaller shape)");
  return static_cast<char*>(m_buffer.data()) + offset;
}

}  // namespace cuvi
