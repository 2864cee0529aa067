// Shared option handling of the cuvi subcommands.
#include "tools/cli/cli_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "engine/error.h"
#include "io/checkpoint.h"

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

workflow::ScviInference open_inference(const Args& a, Backend& backend, uint64_t seed, int64_t batch_size) {
  workflow::ScviInference inf = workflow::open_scvi_inference(a.required("model"), a.required("data"), backend, seed,
                                                              batch_size, {}, a.flag("strict-counts"));
  report_data(a.flag("quiet"), inf.data.data);
  return inf;
}

void report_data(bool quiet, const io::Dataset& d) {
  for (const auto& n : d.notes) info(quiet, "note: " + n);
  for (const auto& w : d.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
}

std::unique_ptr<Backend> backend_from(const Args& a, bool quiet) {
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  const long long threads = a.integer("threads", 0);
  CUVI_CHECK(threads >= 0, "--threads must be 0 (all cores) or a positive count");
  std::string msg;
  std::unique_ptr<Backend> b = make_backend(a.str("device", "auto"), seed, &msg, int(threads));
  info(quiet, msg);
  return b;
}

std::vector<int32_t> read_cell_indices(const std::string& path, int64_t n_cells) {
  std::ifstream in(path);
  CUVI_CHECK(in.good(), path + ": cannot open the cell index file");
  std::vector<int32_t> out;
  std::string tok;
  while (in >> tok) {
    char* end = nullptr;
    const double v = std::strtod(tok.c_str(), &end);  // numpy's savetxt writes 1.230000000000000000e+02
    CUVI_CHECK(end && *end == '\0' && v == std::floor(v),
               path + ": '" + tok + "' (entry " + std::to_string(out.size() + 1) + ") is not a cell index");
    CUVI_CHECK(v >= 0 && v < double(n_cells), path + ": cell index " + tok + " (entry " + std::to_string(out.size() + 1) +
                                                  ") is out of range for " + std::to_string(n_cells) + " cells");
    out.push_back(int32_t(v));
  }
  CUVI_CHECK(!out.empty(), path + ": holds no cell indices");
  return out;
}

std::vector<float> read_embedding(const io::AnnDataFile& f, const std::string& key, int64_t* d) {
  std::vector<float> x = f.read_obsm(key, d);
  for (size_t i = 0; i < x.size(); ++i)
    CUVI_CHECK(std::isfinite(x[i]), f.path() + ": obsm '" + key + "' holds a non-finite value (NaN or Inf) in row " +
                                        std::to_string(int64_t(i) / std::max<int64_t>(*d, 1)));
  return x;
}

const io::Column& categorical_obs(const io::AnnDataFile& f, const std::string& key) {
  const io::Column& c = f.obs().require(key, f.path(), "obs");
  CUVI_CHECK(c.kind == io::ColumnKind::Categorical, f.path() + ": obs column '" + key + "' is not categorical");
  for (int32_t v : c.cat.codes) CUVI_CHECK(v >= 0, f.path() + ": obs column '" + key + "' has missing values");
  return c;
}

void info(bool quiet, const std::string& line) {
  if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
}

std::set<std::string> merge(std::initializer_list<std::set<std::string>> sets) {
  std::set<std::string> out;
  for (const auto& s : sets) out.insert(s.begin(), s.end());
  return out;
}

std::string model_kind_in(const Argv& argv) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "--model") return io::read_checkpoint_kind(argv[i + 1]);  // the kind only, not the weights
  return "";
}

bool wants_help(const Argv& argv) {
  for (const auto& a : argv)
    if (a == "-h" || a == "--help") return true;
  return false;
}

}  // namespace cuvi::cli
