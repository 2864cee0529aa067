// Options of every differential analysis command (cuvi de for SCVI and MULTIVI, cuvi da): scvi-tools'
// differential_expression / differential_accessibility arguments, defaults supplied per model.
#pragma once
#include <set>
#include <string>

#include "tools/cli/args.h"
#include "tools/workflow/de_driver.h"

namespace cuvi::cli {

extern const std::set<std::string> kDeOptions;  // besides model/data/out/device options
extern const std::set<std::string> kDeFlags;
extern const std::set<std::string> kDeLists;
// Help lines for the shared options, with the defaults of the model's analysis.
// one_group1: the command takes exactly one --group1 (differential accessibility).
std::string de_options_help(const workflow::DeOptions& defaults, bool one_group1 = false);
workflow::DeOptions de_options_from(const Args& a, const workflow::DeOptions& defaults);

}  // namespace cuvi::cli
