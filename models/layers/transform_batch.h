// scvi-tools' transform_batch (scvi-multivi.md §1.3 step 6, §2.7): the decoders see another batch than
// the cell's own, through its one-hot codes (column offsets of [batch] + categorical covariates).
#pragma once
#include "engine/tape.h"
#include "models/scvi/scvi_config.h"

namespace cuvi::models {

// codes (N, J) with the batch's code column set to transform_batch (in [0, n_batch)); codes unchanged
// when the layout gives the batch no column (one batch) or there are no codes.
TensorId codes_with_batch(Tape& tape, TensorId codes, const CovariateLayout& layout, int64_t transform_batch);

}  // namespace cuvi::models
