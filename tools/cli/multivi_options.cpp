// MULTIVI option parsing and model opening for the CLI commands.
#include "tools/cli/multivi_options.h"

#include "engine/error.h"
#include "tools/cli/cli_util.h"

namespace cuvi::cli {

const std::set<std::string> kMultiomeOptions = {"rna-modality", "atac-modality", "atac-layer", "rna-data",
                                                "atac-data", "modality-key"};

const char* kMultiomeHelp =
    "  --data FILE                  .h5mu (rna + atac modalities, unpaired cells allowed), 10x multiome .h5,\n"
    "                               or .h5ad with var['feature_types'] (Gene Expression / Peaks)\n"
    "  --rna-data FILE              RNA-only cells to add (organize_multiome_anndatas; genes matched by name)\n"
    "  --atac-data FILE             ATAC-only cells to add (regions matched by name)\n"
    "  --rna-modality rna --atac-modality atac   .h5mu modality names\n"
    "  --layer NAME --atac-layer NAME            counts of each modality (default X)\n"
    "  --modality-key modality      obs column telling paired / expression / accessibility cells\n";

workflow::SetupKeys multiome_keys_from(const Args& a) {
  workflow::SetupKeys k = setup_keys(a);
  workflow::MultiomeKeys& m = k.multiome;
  m.enabled = true;
  m.rna_modality = a.str("rna-modality", m.rna_modality);
  m.atac_modality = a.str("atac-modality", m.atac_modality);
  m.atac_layer = a.str("atac-layer");
  m.rna_data = a.str("rna-data");
  m.atac_data = a.str("atac-data");
  m.modality_key = a.str("modality-key", m.modality_key);
  return k;
}

workflow::MultiviInference open_multivi(const Args& a, Backend& backend, uint64_t seed, int64_t batch_size,
                                        size_t extra_bytes) {
  workflow::MultiomeKeys sources;
  sources.rna_data = a.str("rna-data");
  sources.atac_data = a.str("atac-data");
  workflow::MultiviInference inf = workflow::open_multivi_inference(
      a.required("model"), a.required("data"), sources, backend, seed, batch_size, {}, a.flag("strict-counts"),
      extra_bytes);
  report_data(a.flag("quiet"), inf.data.data);
  return inf;
}

std::vector<int64_t> batch_codes(const workflow::DataRegistry& reg, const std::vector<std::string>& names) {
  std::vector<int64_t> out;
  for (const std::string& b : names) {
    int64_t code = -1;
    for (size_t i = 0; i < reg.batch_categories.size(); ++i)
      if (reg.batch_categories[i] == b) code = int64_t(i);
    CUVI_CHECK(code >= 0, "--transform-batch '" + b + "' is not a batch category of the model");
    out.push_back(code);
  }
  return out;
}

}  // namespace cuvi::cli
