// LZF decompression and its registration as HDF5 filter 32000 (h5py's "lzf"), so anndata 0.7-era
// files load without plugins (file-formats.md §4.1). Decoding only: cuvi never writes LZF.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cuvi::io {

enum class LzfStatus { Ok, OutputFull, Corrupt };

// Decodes one LZF block. On Ok, *out_len holds the decoded size. OutputFull: out_cap was too small.
LzfStatus lzf_decompress(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_cap, size_t* out_len);

// Registers the decoder with H5Zregister under id 32000 (idempotent; called by h5_init()).
void register_lzf_filter();

}  // namespace cuvi::io
