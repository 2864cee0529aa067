// The cuvi subcommands; each takes the arguments after its name and returns the exit status.
#pragma once
#include <string>
#include <vector>

namespace cuvi::cli {

using Argv = std::vector<std::string>;
int cmd_inspect(const Argv& args);    // cmd_inspect.cpp
int cmd_train(const Argv& args);      // cmd_train.cpp
int train_mrvi(const Argv& args);     // cmd_train_mrvi.cpp (cuvi train mrvi)
int train_multivi(const Argv& args);  // cmd_train_multivi.cpp (cuvi train multivi)
// cuvi train regularized-scvi / regularized-multimodal (cmd_train_regvi.cpp)
int train_regvi(const Argv& args, bool multimodal);
// RegularizedVI models in cuvi latent / normalize / de (cmd_regvi_outputs.cpp)
int latent_regvi(const Argv& args);
int normalize_regvi(const Argv& args);
int de_regvi(const Argv& args);
int evaluate_regvi(const Argv& args);
int cmd_latent(const Argv& args);     // cmd_latent.cpp
int cmd_normalize(const Argv& args);  // cmd_normalize.cpp
int cmd_info(const Argv& args);       // cmd_info.cpp
int cmd_simulate(const Argv& args);   // cmd_simulate.cpp
int cmd_metrics(const Argv& args);    // cmd_metrics.cpp
int cmd_loadings(const Argv& args);   // cmd_loadings.cpp
int cmd_de(const Argv& args);         // cmd_de.cpp
int cmd_da(const Argv& args);         // cmd_da.cpp (MULTIVI; MRVI models go to da_mrvi)
int cmd_accessibility(const Argv& args);  // cmd_multivi_outputs.cpp
// MULTIVI models in cuvi latent / normalize / de (dispatched on the model file's kind).
int latent_multivi(const Argv& args);     // cmd_multivi_outputs.cpp
int normalize_multivi(const Argv& args);  // cmd_multivi_outputs.cpp
int de_multivi(const Argv& args);         // cmd_da.cpp
int cmd_evaluate(const Argv& args);   // cmd_evaluate.cpp
int cmd_sample(const Argv& args);     // cmd_sample.cpp
int cmd_version(const Argv& args);    // cmd_version.cpp
int cmd_distances(const Argv& args);  // cmd_distances.cpp (MRVI)
int da_mrvi(const Argv& args);        // cmd_abundance.cpp (cuvi da with an MRVI model)
int cmd_outliers(const Argv& args);   // cmd_abundance.cpp (MRVI)
int de_mrvi(const Argv& args);        // cmd_de_mrvi.cpp (cuvi de with an MRVI model)
extern const char* kMrviDeHelp;       // cmd_de_mrvi.cpp
int cmd_simulate_cohort(const Argv& args);  // cmd_simulate_cohort.cpp
int cmd_neighbors(const Argv& args);  // cmd_neighbors.cpp
int cmd_cluster(const Argv& args);    // cmd_cluster.cpp
int cmd_benchmark(const Argv& args);  // cmd_benchmark.cpp
int cmd_neighbourhood_correlation(const Argv& args);  // cmd_neighbourhood_correlation.cpp
int cmd_attribution(const Argv& args);  // cmd_attribution.cpp (RegularizedMultimodalVI)

}  // namespace cuvi::cli
