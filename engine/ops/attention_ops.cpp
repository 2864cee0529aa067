// Op family "attention" (see engine/ops/README.md for the catalog).
#include "engine/ops/op_util.h"

namespace cuvi::ops {

void register_attention_ops(Registry& r) { (void)r; }

}  // namespace cuvi::ops
