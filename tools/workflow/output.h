// Output files for results: a copy of the input .h5ad (new elements added), or, for 10x and MuData
// inputs, a new minimal .h5ad with the same cells and genes; written via a temporary file.
#pragma once
#include <string>

#include "io/h5ad_writer.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

io::H5adWriter open_result_file(const PreparedData& data, const std::string& out_path);

}  // namespace cuvi::workflow
