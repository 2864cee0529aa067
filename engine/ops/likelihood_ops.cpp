// Op family "likelihood" (see engine/ops/README.md for the catalog).
#include "engine/ops/op_util.h"

namespace cuvi::ops {

void register_likelihood_ops(Registry& r) { (void)r; }

}  // namespace cuvi::ops
