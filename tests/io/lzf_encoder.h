// Test-side LZF encoder (runs of a repeated byte become back-references, the rest literal runs) and an
// HDF5 filter 32000 codec built on it, to produce LZF-compressed fixtures (file-formats.md §4.1).
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "io/lzf.h"

namespace cuvi::test {

// Back-reference of `len` (3..264) bytes at distance `back` (1..8192), in LZF's encoding.
inline void lzf_backref(std::vector<uint8_t>& s, size_t len, size_t back) {
  const size_t l = len - 2, off = back - 1;
  if (l < 7) {
    s.push_back(uint8_t((l << 5) | (off >> 8)));
  } else {
    s.push_back(uint8_t((7 << 5) | (off >> 8)));
    s.push_back(uint8_t(l - 7));
  }
  s.push_back(uint8_t(off & 0xff));
}

inline void lzf_literal(std::vector<uint8_t>& s, const std::string& text) {
  s.push_back(uint8_t(text.size() - 1));
  s.insert(s.end(), text.begin(), text.end());
}

inline std::vector<uint8_t> lzf_encode_runs(const uint8_t* p, size_t n) {
  std::vector<uint8_t> out;
  size_t i = 0;
  auto run_at = [&](size_t j) {  // bytes from j equal to p[j - 1]
    size_t r = 0;
    while (j > 0 && j + r < n && p[j + r] == p[j - 1] && r < 264) ++r;
    return r;
  };
  while (i < n) {
    const size_t run = run_at(i);
    if (run >= 3) {
      lzf_backref(out, run, 1);
      i += run;
      continue;
    }
    size_t lit = 1;
    while (i + lit < n && lit < 32 && run_at(i + lit) < 3) ++lit;
    out.push_back(uint8_t(lit - 1));
    out.insert(out.end(), p + i, p + i + lit);
    i += lit;
  }
  return out;
}

inline size_t test_lzf_codec(unsigned flags, size_t cd_nelmts, const unsigned cd[], size_t nbytes, size_t* buf_size,
                             void** buf) {
  if (flags & H5Z_FLAG_REVERSE) {
    const size_t cap = cd_nelmts >= 3 ? cd[2] : nbytes * 100;
    void* out = H5allocate_memory(cap, false);
    size_t len = 0;
    if (io::lzf_decompress(static_cast<uint8_t*>(*buf), nbytes, static_cast<uint8_t*>(out), cap, &len) != io::LzfStatus::Ok) {
      H5free_memory(out);
      return 0;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = cap;
    return len;
  }
  const std::vector<uint8_t> enc = lzf_encode_runs(static_cast<uint8_t*>(*buf), nbytes);
  void* out = H5allocate_memory(enc.size(), false);
  std::memcpy(out, enc.data(), enc.size());
  H5free_memory(*buf);
  *buf = out;
  *buf_size = enc.size();
  return enc.size();
}

// Registers the encoding codec under 32000; call io::register_lzf_filter() afterwards to restore the library's.
inline bool register_test_lzf_codec() {
  static const H5Z_class2_t cls = {H5Z_CLASS_T_VERS, 32000, 1, 1, "lzf test codec", nullptr, nullptr, test_lzf_codec};
  return H5Zregister(&cls) >= 0;
}

}  // namespace cuvi::test
