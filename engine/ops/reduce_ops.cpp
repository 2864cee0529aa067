// Op family "reduce" (see engine/ops/README.md for the catalog).
#include "engine/ops/op_util.h"

namespace cuvi::ops {

void register_reduce_ops(Registry& r) { (void)r; }

}  // namespace cuvi::ops
