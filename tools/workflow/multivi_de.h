// MULTIVI's differential expression and differential accessibility (scvi-multivi.md §2.7, §3): the
// shared driver (de_driver.h) with MULTIVI's scale functions. DE: px_scale at the posterior mean of
// cells drawn with replacement, raw counts of the genes; DA: accessibility p from a sampled z, the
// fraction of cells with reads per region, scvi-tools' DA table in region order.
#pragma once
#include "tools/workflow/de_driver.h"
#include "tools/workflow/multivi_session.h"

namespace cuvi::workflow {

// MULTIVI's defaults: change mode, delta 0.25 (DE) / 0.05 (DA), pseudocounts 1e-6.
DeOptions multivi_de_defaults();
DeOptions multivi_da_defaults();

DeResult multivi_differential_expression(MultiviInference& inf, const DeOptions& opt);
// The driver's result (scvi-tools' intermediate table, sorted) and the DA table in `table`.
DeResult multivi_differential_accessibility(MultiviInference& inf, const DeOptions& opt, ResultTable* table);

}  // namespace cuvi::workflow
