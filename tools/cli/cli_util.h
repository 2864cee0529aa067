// Shared option handling of the cuvi subcommands: data-registration keys, backend choice, booleans.
#pragma once
#include <memory>
#include <set>
#include <string>

#include "engine/backend.h"
#include "io/anndata.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/workflow/scvi_inference.h"
#include "tools/workflow/setup.h"

namespace cuvi::cli {

// Options every data-reading command accepts.
extern const std::set<std::string> kDataOptions;
extern const std::set<std::string> kDataLists;
bool parse_bool(const Args& a, const std::string& key, bool fallback);
workflow::SetupKeys setup_keys(const Args& a);
// Model and data of an inference command (--model, --data, --strict-counts); reports the data's notes.
workflow::ScviInference open_inference(const Args& a, Backend& backend, uint64_t seed, int64_t batch_size);
// Notes on stderr unless quiet; warnings always.
void report_data(bool quiet, const io::Dataset& d);
// --device/--seed/--threads; prints the device line on stderr unless quiet.
std::unique_ptr<Backend> backend_from(const Args& a, bool quiet);
void info(bool quiet, const std::string& line);  // one line on stderr
// 0-based cell indices from a text file (whitespace-separated integers), each checked against n_cells.
std::vector<int32_t> read_cell_indices(const std::string& path, int64_t n_cells);
std::set<std::string> merge(std::initializer_list<std::set<std::string>> sets);
// A dense obsm embedding (n_obs, d) whose values are all finite (fails naming the file, key and row).
std::vector<float> read_embedding(const io::AnnDataFile& f, const std::string& key, int64_t* d);
// A categorical obs column without missing values (fails naming the file, the column and the problem).
const io::Column& categorical_obs(const io::AnnDataFile& f, const std::string& key);
bool wants_help(const Argv& argv);
// The kind of the model file named by --model ("cuvi.scvi", ...), "" without --model (a missing or
// unreadable file fails with its message).
std::string model_kind_in(const Argv& argv);

}  // namespace cuvi::cli
