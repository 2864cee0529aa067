// The list of op families: every op the models use is registered here, so the tests and the
// benches that walk the registry cannot miss one.
#include "engine/registry.h"

namespace cuvi {
namespace ops {
void register_linear_ops(Registry& r);
void register_unary_ops(Registry& r);
}  // namespace ops

void register_all_ops(Registry& r) {
  ops::register_linear_ops(r);
  ops::register_unary_ops(r);
}

}  // namespace cuvi
