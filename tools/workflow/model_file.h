// cuvi model files for every model kind: weights and buffers under the model's parameter names, its
// configuration, the data registry (genes, categories, setup keys, samples), per-sample covariates,
// training facts and per-epoch history, in one HDF5 file (io/checkpoint).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/params.h"
#include "io/checkpoint.h"
#include "tools/workflow/sample_info.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

constexpr const char* kScviKind = "cuvi.scvi";
constexpr const char* kMrviKind = "cuvi.mrvi";
constexpr const char* kMultiviKind = "cuvi.multivi";

struct ModelFile {
  std::string path;
  std::string kind;                          // kScviKind, kMrviKind, kMultiviKind
  std::map<std::string, std::string> config;  // the model configuration's string map
  DataRegistry registry;
  SampleTable samples;                        // MRVI: samples, cells per sample, sample covariates
  std::map<std::string, std::vector<double>> history;
  std::map<std::string, std::string> info;    // training facts: device, seed, epochs, seconds, ...
  std::map<std::string, io::CheckpointTensor> weights;  // by parameter name: shape and values
};

// The file form of a model in memory (its current weights and buffers from `params`).
ModelFile model_file_of(const std::string& kind, const std::map<std::string, std::string>& config,
                        const ParamStore& params, const DataRegistry& registry, const SampleTable& samples,
                        const std::map<std::string, std::vector<double>>& history,
                        const std::map<std::string, std::string>& info);
void save_model_file(const std::string& path, const ModelFile& f);

void save_model_file(const std::string& path, const std::string& kind, const std::map<std::string, std::string>& config,
                     const ParamStore& params, const DataRegistry& registry, const SampleTable& samples,
                     const std::map<std::string, std::vector<double>>& history,
                     const std::map<std::string, std::string>& info);
ModelFile read_model_file(const std::string& path);
// Fails naming the file when it holds another kind of model.
void expect_kind(const ModelFile& f, const std::string& kind, const std::string& what);
// Copies every parameter and buffer of `ps` from the file (each must be present with its size).
void load_weights(const ModelFile& f, ParamStore& ps);

}  // namespace cuvi::workflow
