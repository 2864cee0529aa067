// Options and reporting shared by every `cuvi train <model>`: the data, the split, the optimizer,
// KL warm-up, early stopping, device and loader (scvi-tools' names; defaults come from the model).
#pragma once
#include <map>
#include <set>
#include <string>

#include "engine/trainer.h"
#include "tools/cli/args.h"
#include "tools/workflow/setup.h"

namespace cuvi::cli {

extern const std::set<std::string> kTrainOptions;  // besides kDataOptions / kDataLists
extern const std::set<std::string> kTrainFlags;
// Help lines of the shared options, given the model's defaults.
std::string train_options_help(const TrainConfig& defaults);
// The model's defaults overridden by the command line; --validation-indices are checked against n_cells.
TrainConfig train_config_from(const Args& a, const TrainConfig& defaults, int64_t n_cells);
LoaderOptions loader_options_from(const Args& a);
// Loads and registers --data (reports notes, warnings and cells without counts).
workflow::PreparedData load_training_data(const Args& a, const workflow::SetupKeys& keys);
// The summary printed after training (the facts stored with the model: workflow::training_facts).
void report_training(bool quiet, const std::string& model, const TrainResult& r, const std::string& out);

}  // namespace cuvi::cli
