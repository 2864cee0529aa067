// Shared option handling of the cuvi subcommands.
#include "tools/cli/cli_util.h"

#include <cstdio>

#include "engine/error.h"

namespace cuvi::cli {

const std::set<std::string> kDataOptions = {"layer", "modality", "genome", "feature-type", "batch-key", "labels-key"};
const std::set<std::string> kDataLists = {"categorical-covariate-keys", "continuous-covariate-keys"};

bool parse_bool(const Args& a, const std::string& key, bool fallback) {
  if (!a.has(key)) return fallback;
  const std::string v = a.str(key);
  if (v == "true" || v == "True" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "False" || v == "0" || v == "no") return false;
  fail("option --" + key + " expects true or false, got '" + v + "'");
}

workflow::SetupKeys setup_keys(const Args& a) {
  workflow::SetupKeys k;
  k.layer = a.str("layer");
  k.modality = a.str("modality");
  k.genome = a.str("genome");
  k.feature_type = a.str("feature-type");
  k.batch_key = a.str("batch-key");
  k.labels_key = a.str("labels-key");
  k.categorical_covariate_keys = a.list("categorical-covariate-keys");
  k.continuous_covariate_keys = a.list("continuous-covariate-keys");
  return k;
}

std::unique_ptr<Backend> backend_from(const Args& a, bool quiet) {
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  std::string msg;
  std::unique_ptr<Backend> b;
  const std::string dev = a.str("device", "auto");
  if (dev == "cpu" && a.has("threads"))
    b = make_cpu_backend(seed, int(a.integer("threads", 0)));
  else
    b = make_backend(dev, seed, &msg);
  if (msg.empty()) msg = "device: " + b->describe();
  info(quiet, msg);
  return b;
}

void info(bool quiet, const std::string& line) {
  if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
}

std::set<std::string> merge(std::initializer_list<std::set<std::string>> sets) {
  std::set<std::string> out;
  for (const auto& s : sets) out.insert(s.begin(), s.end());
  return out;
}

bool wants_help(const Argv& argv) {
  for (const auto& a : argv)
    if (a == "-h" || a == "--help") return true;
  return false;
}

}  // namespace cuvi::cli
