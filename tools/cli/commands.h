// The cuvi subcommands; each takes the arguments after its name and returns the exit status.
#pragma once
#include <string>
#include <vector>

namespace cuvi::cli {

using Argv = std::vector<std::string>;
int cmd_inspect(const Argv& args);    // cmd_inspect.cpp
int cmd_train(const Argv& args);      // cmd_train.cpp
int cmd_latent(const Argv& args);     // cmd_latent.cpp
int cmd_normalize(const Argv& args);  // cmd_normalize.cpp
int cmd_info(const Argv& args);       // cmd_info.cpp
int cmd_simulate(const Argv& args);   // cmd_simulate.cpp
int cmd_metrics(const Argv& args);    // cmd_metrics.cpp
int cmd_loadings(const Argv& args);   // cmd_loadings.cpp
int cmd_de(const Argv& args);         // cmd_de.cpp
int cmd_evaluate(const Argv& args);   // cmd_evaluate.cpp
int cmd_sample(const Argv& args);     // cmd_sample.cpp
int cmd_version(const Argv& args);    // cmd_version.cpp
int cmd_neighbors(const Argv& args);  // cmd_neighbors.cpp
int cmd_cluster(const Argv& args);    // cmd_cluster.cpp
int cmd_benchmark(const Argv& args);  // cmd_benchmark.cpp

}  // namespace cuvi::cli
