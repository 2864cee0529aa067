// cuvi command-line entry point: dispatches subcommands and turns errors into one line + exit 1.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "engine/error.h"
#include "tools/cli/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(const cuvi::cli::Argv&);
  const char* help;
};

const Command kCommands[] = {
    {"train", cuvi::cli::cmd_train, "train SCVI, LinearSCVI, MRVI or MULTIVI on raw counts and write a model file"},
    {"latent", cuvi::cli::cmd_latent, "write the latent representation (obsm['X_scVI']; MRVI: X_mrvi_u, X_mrvi_z; MULTIVI: X_multivi)"},
    {"normalize", cuvi::cli::cmd_normalize, "write denoised, normalized expression as a layer"},
    {"de", cuvi::cli::cmd_de, "differential expression between groups of cells (scvi-tools' tables)"},
    {"da", cuvi::cli::cmd_da, "MULTIVI differential accessibility; MRVI differential abundance of samples (netCDF)"},
    {"accessibility", cuvi::cli::cmd_accessibility, "MULTIVI accessibility estimates (imputed for RNA-only cells)"},
    {"attribution", cuvi::cli::cmd_attribution,
     "RegularizedMultimodalVI modality attribution: |d px_rate / d z| per modality (obsm, obs)"},
    {"evaluate", cuvi::cli::cmd_evaluate, "model fit: ELBO, reconstruction error, marginal log-likelihood"},
    {"sample", cuvi::cli::cmd_sample, "posterior predictive counts as layers"},
    {"distances", cuvi::cli::cmd_distances, "MRVI local sample distances per cell and per group (netCDF)"},
    {"outliers", cuvi::cli::cmd_outliers, "MRVI admissibility of every cell-sample pair (netCDF)"},
    {"loadings", cuvi::cli::cmd_loadings, "write a LinearSCVI model's gene loadings as CSV"},
    {"info", cuvi::cli::cmd_info, "show a model's configuration, data registry and training history"},
    {"metrics", cuvi::cli::cmd_metrics, "score an embedding: label k-NN accuracy and batch mixing"},
    {"neighbors", cuvi::cli::cmd_neighbors, "exact k-NN graph of an embedding in scanpy's layout (obsp, uns)"},
    {"cluster", cuvi::cli::cmd_cluster, "Leiden, k-means or hierarchical cluster labels written to obs"},
    {"benchmark", cuvi::cli::cmd_benchmark, "scib-metrics Benchmarker table for one or more embeddings (CSV)"},
    {"neighbourhood-correlation", cuvi::cli::cmd_neighbourhood_correlation,
     "regularizedvi's label-free marker correlation with k-NN neighbours per library/dataset mask (CSV)"},
    {"simulate", cuvi::cli::cmd_simulate, "write a synthetic data set with known cell types, batches and DE genes"},
    {"simulate-cohort", cuvi::cli::cmd_simulate_cohort, "a semi-synthetic multi-sample cohort with known truth from real data"},
    {"inspect", cuvi::cli::cmd_inspect, "describe an .h5ad/.h5/.h5mu file, or report why it is unreadable"},
    {"version", cuvi::cli::cmd_version, "build and machine: CUDA architectures, CPU, OpenBLAS kernels, CUDA device"},
};

void usage(FILE* f) {
  std::fputs("usage: cuvi <command> [options]   (cuvi <command> --help for its options)\n\ncommands:\n", f);
  for (const Command& c : kCommands) std::fprintf(f, "  %-15s %s\n", c.name, c.help);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(cuvi::cli::Argv(argv + 2, argv + argc));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cuvi %s: error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "cuvi: error: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
