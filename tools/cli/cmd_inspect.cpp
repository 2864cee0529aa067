// cuvi inspect FILE: what an AnnData/10x/MuData file holds, or the validation error.
#include "engine/error.h"
#include "tools/cli/commands.h"

namespace cuvi::cli {

int cmd_inspect(const Argv& args) { fail("inspect is not available yet"); }

}  // namespace cuvi::cli
