// transform_batch on one-hot codes: one replace_column op on the batch's code column.
#include "models/layers/transform_batch.h"

#include "engine/error.h"

namespace cuvi::models {

TensorId codes_with_batch(Tape& tape, TensorId codes, const CovariateLayout& layout, int64_t transform_batch) {
  CUVI_CHECK(transform_batch >= 0 && transform_batch < layout.sizes.at(0), "transform_batch code out of range");
  if (layout.offsets[0] < 0 || codes == kNoTensor) return codes;
  OpParams p;
  p.i[0] = 0;  // the batch is the first code column
  p.i[1] = layout.offsets[0] + transform_batch;
  return tape.apply1("replace_column", {codes}, p);
}

}  // namespace cuvi::models
