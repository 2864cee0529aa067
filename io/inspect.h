// Human-readable description of an .h5ad, 10x .h5 or .h5mu file for `cuvi inspect`: format and layout
// generation, shapes, matrices with storage/dtype/sparsity/count-likeness, obs/var columns, obsm, modalities, genomes.
#pragma once
#include <ostream>
#include <string>

namespace cuvi::io {

struct InspectOptions {
  // Scan every matrix completely (structure validated, values summarised); otherwise only the
  // headers are checked and count-likeness is judged from the first rows.
  bool full_scan = true;
  int64_t sample_rows = 1000;  // rows checked when !full_scan
};

// Writes the description; throws cuvi::Error on the first validation problem.
void inspect_file(const std::string& path, std::ostream& out, const InspectOptions& opts = {});

}  // namespace cuvi::io
