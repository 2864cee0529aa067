// cuvi attribution: RegularizedMultimodalVI's exact modality attribution (regularizedvi.md §9,
// get_modality_attribution + store_attribution_results): obsm['X_latent_attr_{m}'], obs['{m}_decoder_total_attr'],
// obs['{m}_decoder_own_attr'] and, for two modalities, obs['log2_{m0}_vs_{m1}_attr'] (each with --suffix).
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/output.h"
#include "tools/workflow/regvi_attribution_model.h"

namespace cuvi::cli {

int cmd_attribution(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi attribution --model MODEL.cuvi --data FILE --out OUT.h5ad [options]\n"
        "  --remove-covariates False|cat_covs|feature_scaling|all|True   covariates replaced before differentiating\n"
        "  --covariate-reference zero|mean|reference   replacement: zeros (no scaling), 1/n_cat, most frequent category\n"
        "  --suffix S              appended to every stored key (e.g. _nocov)\n"
        "  --batch-size 256 --seed 0 --device auto|cpu|cuda --threads N --quiet --strict-counts\n"
        "A[n, k] = mean over the modality's features of |d px_rate / d z_k| at the posterior means (exact forward mode;\n"
        "the closed form for one-layer decoders), with the library of one eval pass (regularizedvi samples it too)\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv,
               {"model", "data", "out", "remove-covariates", "covariate-reference", "suffix", "batch-size", "seed",
                "device", "threads"},
               {"quiet", "strict-counts"});
  const bool quiet = a.flag("quiet");
  const auto remove = workflow::parse_remove_covariates(a.str("remove-covariates", "False"));
  const auto reference = workflow::parse_covariate_reference(a.str("covariate-reference", "zero"));
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  const int64_t batch_size = a.integer("batch-size", 256);
  CUVI_CHECK(batch_size >= 1, "--batch-size must be positive");
  const std::string out = a.required("out");
  auto backend = backend_from(a, quiet);
  workflow::RegviInference inf =
      workflow::open_regvi(a.required("model"), a.required("data"), *backend, seed, a.flag("strict-counts"));
  report_data(quiet, inf.data.data);
  const workflow::RegviAttribution r =
      workflow::regvi_modality_attribution(inf, *backend, remove, reference, seed, batch_size);
  io::H5adWriter w = workflow::open_result_file(inf.data, out);
  const std::string suffix = a.str("suffix");
  workflow::store_attribution_results(w, r.modalities, r.z.data(), r.n_cells, suffix);
  w.add_uns_string("cuvi/attribution" + suffix + "/model", a.required("model"));
  w.add_uns_string("cuvi/attribution" + suffix + "/remove_covariates", workflow::to_string(remove));
  w.add_uns_string("cuvi/attribution" + suffix + "/covariate_reference", workflow::to_string(reference));
  w.commit();
  std::string keys;
  for (const auto& m : r.modalities) keys += (keys.empty() ? "" : ", ") + ("X_latent_attr_" + m.name + suffix);
  info(quiet, "wrote obsm " + keys + " (" + std::to_string(r.n_cells) + " x " + std::to_string(r.width) +
                  ") and the attribution obs columns to " + out);
  return 0;
}

}  // namespace cuvi::cli
