// Output files for results: a copy of the input .h5ad (new elements added), or, for 10x and MuData
// inputs, a new minimal .h5ad with the same cells and genes; written via a temporary file.
#pragma once
#include <string>

#include "io/h5ad_writer.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

io::H5adWriter open_result_file(const PreparedData& data, const std::string& out_path);

// MULTIVI results: a new .h5ad over the cells (obs with the modality column) and the chosen features,
// X holding their counts (genes then regions for All).
enum class MultiomeFeatures { All, Genes, Regions };
// rows: only these cells (dataset rows, in this order); empty = every cell.
io::H5adWriter open_multiome_result(const PreparedData& data, const std::string& out_path, MultiomeFeatures which,
                                    const std::vector<int32_t>& rows = {});

}  // namespace cuvi::workflow
