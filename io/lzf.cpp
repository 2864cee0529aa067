// LZF block decoder and HDF5 filter 32000 callback (see lzf.h; file-formats.md §4.1).
// Format: a control byte c < 32 starts a literal run of c + 1 bytes; otherwise the top 3 bits give a
// length (7 = extended by the next byte) and the low 5 bits plus the next byte a back-reference offset.
#include "io/lzf.h"

#include <hdf5.h>

#include <algorithm>

namespace cuvi::io {

LzfStatus lzf_decompress(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_cap, size_t* out_len) {
  size_t ip = 0, op = 0;
  while (ip < in_len) {
    const unsigned ctrl = in[ip++];
    if (ctrl < 32) {  // literal run
      const size_t len = size_t(ctrl) + 1;
      if (ip + len > in_len) return LzfStatus::Corrupt;
      if (op + len > out_cap) return LzfStatus::OutputFull;
      std::copy(in + ip, in + ip + len, out + op);
      ip += len;
      op += len;
      continue;
    }
    size_t len = ctrl >> 5;
    if (len == 7) {
      if (ip >= in_len) return LzfStatus::Corrupt;
      len += in[ip++];
    }
    if (ip >= in_len) return LzfStatus::Corrupt;
    const size_t back = ((size_t(ctrl) & 0x1f) << 8) + in[ip++] + 1;
    len += 2;
    if (back > op) return LzfStatus::Corrupt;  // reference before the start of the output
    if (op + len > out_cap) return LzfStatus::OutputFull;
    const size_t ref = op - back;
    for (size_t i = 0; i < len; ++i) out[op + i] = out[ref + i];  // may overlap: byte by byte
    op += len;
  }
  *out_len = op;
  return LzfStatus::Ok;
}

namespace {

// HDF5 filter callback: decompress *buf (nbytes) into a new buffer; returns the decoded size, 0 on error.
size_t lzf_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes, size_t* buf_size,
                  void** buf) {
  if (!(flags & H5Z_FLAG_REVERSE)) return 0;  // encoding is not offered
  if (nbytes == 0) return 0;
  // One 3-byte back-reference expands to at most 264 bytes, so the output is bounded by the input.
  const size_t limit = std::min<size_t>(nbytes * 88 + 64, size_t(1) << 32);
  // h5py stores the chunk size in bytes as the third client value. A chunk always decodes to exactly
  // that size; anything shorter is corrupt and must not reach libhdf5, which would copy a full chunk.
  const size_t expect = (cd_nelmts >= 3 && cd_values[2] != 0) ? size_t(cd_values[2]) : 0;
  size_t cap = expect ? expect : nbytes * 4;
  cap = std::min(std::max<size_t>(cap, 64), limit);
  while (true) {
    void* out = H5allocate_memory(cap, false);
    if (!out) return 0;
    size_t len = 0;
    const LzfStatus st = lzf_decompress(static_cast<const uint8_t*>(*buf), nbytes, static_cast<uint8_t*>(out), cap, &len);
    if (st == LzfStatus::Ok && len > 0 && (expect == 0 || len == expect)) {
      H5free_memory(*buf);
      *buf = out;
      *buf_size = cap;
      return len;
    }
    H5free_memory(out);
    if (st != LzfStatus::OutputFull || cap >= limit) return 0;
    cap = std::min(cap * 2, limit);
  }
}

}  // namespace

void register_lzf_filter() {
  static const H5Z_class2_t cls = {
      H5Z_CLASS_T_VERS, H5Z_filter_t(32000), 0, 1, "lzf (cuvi decoder)", nullptr, nullptr, lzf_filter,
  };
  H5Zregister(&cls);
}

}  // namespace cuvi::io
