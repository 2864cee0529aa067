// Op family "embedding" (see engine/ops/README.md for the catalog).
#include "engine/ops/op_util.h"

namespace cuvi::ops {

void register_embedding_ops(Registry& r) { (void)r; }

}  // namespace cuvi::ops
