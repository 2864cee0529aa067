// Model files: one HDF5 file holding named float tensors (weights, buffers), string attributes
// (configuration), string lists (gene and category registries) and per-epoch history columns.
// Written to a temporary name and renamed, so a failed save never leaves a partial file.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cuvi::io {

struct CheckpointTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct Checkpoint {
  std::string kind;                                          // e.g. "cuvi.scvi"
  int64_t version = 1;
  std::map<std::string, std::string> config;                 // /config attributes
  std::map<std::string, CheckpointTensor> tensors;           // /weights/<name>
  std::map<std::string, std::vector<std::string>> strings;   // /registry/<name>
  std::map<std::string, std::vector<double>> history;        // /history/<name>
};

void write_checkpoint(const std::string& path, const Checkpoint& c);
// Fails with a readable message when the file is not a cuvi model file or is damaged.
Checkpoint read_checkpoint(const std::string& path);
// The file's cuvi_kind alone (no weights read), with read_checkpoint's checks of the file.
std::string read_checkpoint_kind(const std::string& path);

}  // namespace cuvi::io
