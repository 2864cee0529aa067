// cuvi latent: the posterior latent representation of every cell, written to obsm['X_scVI']
// (posterior mean; posterior samples on request), as scvi-tools' get_latent_representation.
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/output.h"
#include "tools/workflow/scvi_inference.h"

namespace cuvi::cli {

int cmd_latent(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi latent --model MODEL --data FILE --out OUT.h5ad [options]\n"
        "  --obsm-key X_scVI      where the latent goes (n_obs x n_latent, float32)\n"
        "  --give-mean true       posterior mean (false: one posterior sample)\n"
        "  --n-samples S          also write S posterior samples as obsm['<key>_sample_<k>']\n"
        "  --mc-samples 5000      samples averaged for the mean of a 'ln' latent\n"
        "  --batch-size 128 --seed 0 --device auto|cpu|cuda --threads N --quiet\n"
        "  --strict-counts      refuse non-integer counts (default: use them with a warning)\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, {"model", "data", "out", "obsm-key", "give-mean", "n-samples", "mc-samples", "batch-size", "seed",
                      "device", "threads"},
               {"quiet", "strict-counts"});
  const bool quiet = a.flag("quiet");
  const std::string key = a.str("obsm-key", "X_scVI");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  auto backend = backend_from(a, quiet);
  workflow::ScviInference inf =
      open_inference(a, *backend, seed, a.integer("batch-size", 128));
  io::H5adWriter w = workflow::open_result_file(inf.data, a.required("out"));
  const int64_t R = inf.data.data.counts.n_rows, L = inf.model->config().n_latent;
  const bool give_mean = parse_bool(a, "give-mean", true);
  const auto z = inf.session->latent(give_mean, seed, a.integer("mc-samples", 5000));
  w.add_obsm(key, z.data(), R, L);
  const int64_t S = a.integer("n-samples", 0);
  CUVI_CHECK(S >= 0, "--n-samples must not be negative");
  for (int64_t s = 0; s < S; ++s) {
    const auto zs = inf.session->latent(false, seed + 1 + uint64_t(s));
    w.add_obsm(key + "_sample_" + std::to_string(s + 1), zs.data(), R, L);
  }
  w.add_uns_string("cuvi/latent/model", a.required("model"));
  w.add_uns_string("cuvi/latent/obsm_key", key);
  w.add_uns_string("cuvi/latent/kind", give_mean ? "posterior mean" : "posterior sample");
  w.commit();
  info(quiet, "wrote obsm['" + key + "'] (" + std::to_string(R) + " x " + std::to_string(L) + ") to " + a.required("out"));
  return 0;
}

}  // namespace cuvi::cli
