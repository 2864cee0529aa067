// MULTIVI's data (scvi-multivi.md §2.1; file-formats.md §2-§3): RNA and ATAC counts of every cell as
// one CSR matrix, genes then regions, from an .h5mu (modalities aligned by obs names / obsmap, unpaired
// cells allowed), a 10x multiome .h5 (Gene Expression + Peaks), or an .h5ad with var['feature_types'];
// plus optional RNA-only and ATAC-only files concatenated as organize_multiome_anndatas does. The
// peaks stay sparse: the device loader densifies each minibatch.
#pragma once
#include <string>
#include <vector>

#include "tools/workflow/setup.h"

namespace cuvi::workflow {

struct MultiomeData {
  io::Dataset data;  // counts (cells, genes + regions); obs with the modality column; var: genes, regions
  std::vector<std::string> genes, regions;
  int64_t n_paired = 0, n_expression = 0, n_accessibility = 0;  // cells by source
};

// Reads `path` (and keys.multiome.rna_data / atac_data) with the layers and modality names of `keys`.
MultiomeData load_multiome(const std::string& path, const SetupKeys& keys, bool strict_counts);
// load_multiome, then registration (batch, covariates) as prepare_data; with `model`, genes, regions
// and categories must be the model's.
PreparedData prepare_multiome(const std::string& path, const SetupKeys& keys, const DataRegistry* model = nullptr,
                              bool strict_counts = false);

// Horizontal and vertical concatenation of CSR matrices (rows must agree / columns must agree).
io::CsrMatrix hstack(const io::CsrMatrix& a, const io::CsrMatrix& b);
io::CsrMatrix vstack(const std::vector<const io::CsrMatrix*>& parts);
// Columns of m moved to target[c] in a matrix of n_cols columns (target -1: dropped), rows re-sorted.
io::CsrMatrix remap_columns(const io::CsrMatrix& m, const std::vector<int64_t>& target, int64_t n_cols);

}  // namespace cuvi::workflow
