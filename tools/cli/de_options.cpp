// Parsing of the differential-analysis options shared by cuvi de and cuvi da.
#include "tools/cli/de_options.h"

#include <sstream>

#include "engine/error.h"

namespace cuvi::cli {

const std::set<std::string> kDeOptions = {"groupby", "group2", "mode", "delta", "fdr-target", "pseudocounts",
                                          "threshold-counts", "test-mode", "n-samples-overall", "weights"};
const std::set<std::string> kDeFlags = {"batch-correction"};
const std::set<std::string> kDeLists = {"group1"};

std::string de_options_help(const workflow::DeOptions& d, bool one_group1) {
  std::ostringstream s;
  s << "  --groupby COL              obs column defining the groups\n"
    << (one_group1 ? "  --group1 A                 the group to test (one)\n"
                   : "  --group1 A...              groups to test; default: every category of COL (one call)\n")
    << "  --group2 B                 compare against B; default: the rest of the cells\n"
    << "  --mode vanilla|change      default " << d.mode << "\n"
    << "  --delta " << (d.delta ? std::to_string(*d.delta).substr(0, 4) : std::string("auto"))
    << "|auto          change mode: |log2 fold change| threshold; auto estimates it per comparison\n"
    << "                             (scvi-tools' delta=None)\n"
    << "  --fdr-target 0.05          change mode: posterior expected FDR of the is_de flag\n"
    << "  --pseudocounts X|auto      change mode: pseudocount of the LFC; default "
    << (d.pseudocounts ? std::to_string(*d.pseudocounts) : std::string("estimated from features with mean count\n"
                                                                         "                             < --threshold-counts (0.01) in a group"))
    << "\n"
    << "  --test-mode three|two      change mode: proba_de = max of the two tails, or their sum\n"
    << "  --batch-correction         decode every group in every batch category (pairs within batch)\n"
    << "  --n-samples-overall 5000   posterior scale samples per group\n"
    << "  --weights uniform          importance weights are not implemented\n";
  return s.str();
}

workflow::DeOptions de_options_from(const Args& a, const workflow::DeOptions& d) {
  const std::string weights = a.str("weights", "uniform");
  CUVI_CHECK(weights == "uniform", "--weights '" + weights +
                                       "': importance-weighted DE is not implemented in cuvi; use uniform (the default)");
  workflow::DeOptions o = d;
  o.groupby = a.required("groupby");
  o.group1 = a.list("group1");
  o.group2 = a.str("group2");
  o.mode = a.str("mode", d.mode);
  if (a.has("delta")) {
    const std::string delta = a.str("delta");
    if (delta == "auto" || delta == "None")
      o.delta.reset();
    else
      o.delta = a.number("delta", 0);
  }
  o.fdr_target = a.number("fdr-target", d.fdr_target);
  if (a.has("pseudocounts")) {
    if (a.str("pseudocounts") == "auto" || a.str("pseudocounts") == "None")
      o.pseudocounts.reset();
    else
      o.pseudocounts = a.number("pseudocounts", 0);
  }
  o.threshold_counts = a.number("threshold-counts", d.threshold_counts);
  o.test_mode = a.str("test-mode", d.test_mode);
  o.batch_correction = a.flag("batch-correction");
  o.n_samples_overall = a.integer("n-samples-overall", d.n_samples_overall);
  o.seed = uint64_t(a.integer("seed", 0));
  o.batch_size = a.integer("batch-size", d.batch_size);
  CUVI_CHECK(o.batch_size >= 1, "--batch-size must be positive");
  return o;
}

}  // namespace cuvi::cli
