// MULTIVI's command-line data options (scvi-multivi.md §2.1): modality names and layers of an .h5mu,
// RNA-only / ATAC-only files to concatenate, the modality column; opening a model with its data.
#pragma once
#include <set>
#include <string>

#include "tools/cli/args.h"
#include "tools/workflow/multivi_session.h"

namespace cuvi::cli {

extern const std::set<std::string> kMultiomeOptions;
extern const char* kMultiomeHelp;
// Training keys: the shared data keys (setup_keys) plus the multiome options.
workflow::SetupKeys multiome_keys_from(const Args& a);
// --model, --data (+ --rna-data / --atac-data), --strict-counts; reports the data's notes.
workflow::MultiviInference open_multivi(const Args& a, Backend& backend, uint64_t seed, int64_t batch_size,
                                        size_t extra_bytes = 0);
// Batch category names -> codes of the model (fails naming an unknown one).
std::vector<int64_t> batch_codes(const workflow::DataRegistry& reg, const std::vector<std::string>& names);

}  // namespace cuvi::cli
