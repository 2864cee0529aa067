// Recognises inputs that trip known defects inside libhdf5 1.10.8 itself (not in cuvi): a global heap
// collection ("GCOL") whose object list makes the library's parser loop forever or whose objects claim
// more bytes than the collection holds (out-of-bounds copy on read), and a local heap
// ("HEAP") whose free list is a cycle. Signatures are matched anywhere in the input, so a few harmless
// inputs are skipped too. The fuzz target skips such inputs to keep exploring cuvi's own code
// (tests/fuzz/REPORT.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace cuvi::fuzz {

inline uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Walks one collection the way libhdf5 does (16-byte header, then 16-byte object headers: index u16,
// refcount u16, reserved u32, size u64; object 0 is free space and is not padded).
inline bool gcol_is_hazardous(const uint8_t* c, size_t avail) {
  if (avail < 16) return false;  // the library reads a 4 KiB speculative image; a short tail fails cleanly
  const uint64_t size = le64(c + 8);
  const uint64_t end = size < avail ? size : avail;
  uint64_t p = 16;
  while (p < end) {
    if (p + 16 > end) return false;  // tail too small for an object header: free space
    const unsigned idx = unsigned(c[p]) | unsigned(c[p + 1]) << 8;
    const uint64_t osize = le64(c + p + 8);
    const uint64_t need = idx > 0 ? 16 + ((osize + 7) & ~uint64_t(7)) : osize;
    // The library advances its cursor by `need` with pointer arithmetic: zero never advances, and a
    // value near 2^64 wraps the cursor backwards; both loop forever.
    if (need == 0 || need >= (uint64_t(1) << 62)) return true;
    // An object claiming more bytes than its collection holds: H5HG_read copies that many bytes out of
    // the collection when the object is read (an out-of-bounds copy inside the library).
    if (idx > 0 && p + 16 + osize > size) return true;
    p += need;
  }
  return false;
}

// A local heap ("HEAP": version, 3 reserved, data size u64, free-list head u64, data address u64) whose
// free list passes every check libhdf5 makes (offset inside the data, next != 0, block inside the data)
// yet returns to a block already seen: the library then allocates list nodes until memory runs out.
inline bool local_heap_is_hazardous(const uint8_t* file, size_t file_size, size_t at) {
  if (at + 32 > file_size) return false;
  const uint64_t dsize = le64(file + at + 8), head = le64(file + at + 16), addr = le64(file + at + 24);
  if (addr > file_size) return false;
  std::vector<bool> seen(file_size - addr, false);  // free-block offsets visited (all lie in the file)
  for (uint64_t fb = head; fb != 1;) {              // 1 is libhdf5's "no free block"
    if (fb >= dsize || fb + 16 > file_size - addr) return false;  // rejected by the library, or unreadable
    if (seen[fb]) return true;                                    // a cycle
    seen[fb] = true;
    const uint64_t next = le64(file + addr + fb), bsize = le64(file + addr + fb + 8);
    if (next == 0 || bsize > dsize || fb + bsize > dsize) return false;
    fb = next;
  }
  return false;
}

inline bool has_known_libhdf5_defect(const uint8_t* data, size_t size) {
  for (size_t i = 0; i + 4 <= size; ++i) {
    if (std::memcmp(data + i, "GCOL", 4) == 0 && gcol_is_hazardous(data + i, size - i)) return true;
    if (std::memcmp(data + i, "HEAP", 4) == 0 && local_heap_is_hazardous(data, size, i)) return true;
  }
  return false;
}

}  // namespace cuvi::fuzz
