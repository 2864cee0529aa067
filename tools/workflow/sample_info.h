// Per-sample covariates (spec/mrvi.md §5 setup_anndata / update_sample_info): one value per registered
// sample for obs columns that are constant within every sample, in the registered sample order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tools/workflow/setup.h"

namespace cuvi::workflow {

struct SampleColumn {
  std::string name;
  bool numeric = false;                 // numbers (and booleans as 0/1) vs categories
  std::vector<double> values;           // numeric: per sample
  std::vector<std::string> text;        // per sample, as text (numbers formatted)
  std::vector<std::string> categories;  // categorical: the column's category order (pandas), used levels only
};

struct SampleTable {
  std::vector<std::string> samples;  // registered order
  std::vector<int64_t> n_cells;      // per sample in the data the table came from
  std::vector<SampleColumn> columns;
  const SampleColumn* find(const std::string& name) const;
};

// keys empty: every obs column (but the sample key) that is constant within each sample, silently
// skipping the others. keys given: those columns, in order; one not constant within a sample fails
// naming the column, the sample and two of its values. Samples without cells in the data are errors.
SampleTable sample_table(const PreparedData& data, const std::vector<std::string>& keys = {});

}  // namespace cuvi::workflow
