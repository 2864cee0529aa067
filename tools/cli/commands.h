// The cuvi subcommands; each takes the arguments after its name and returns the exit status.
#pragma once
#include <string>
#include <vector>

namespace cuvi::cli {

using Argv = std::vector<std::string>;
int cmd_inspect(const Argv& args);  // cmd_inspect.cpp

}  // namespace cuvi::cli
