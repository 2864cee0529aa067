// cuvi latent: the posterior latent representation of every cell, as scvi-tools'
// get_latent_representation: obsm['X_scVI'] for SCVI models; obsm['X_mrvi_u'] and obsm['X_mrvi_z'] for
// MRVI models (spec/mrvi.md §5; posterior means, or samples on request).
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/mrvi_session.h"
#include "tools/workflow/output.h"
#include "tools/workflow/regvi_file.h"
#include "tools/workflow/scvi_inference.h"

namespace cuvi::cli {
namespace {

int latent_mrvi(const Args& a) {
  const bool quiet = a.flag("quiet");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  auto backend = backend_from(a, quiet);
  workflow::MrviInference inf = workflow::open_mrvi_inference(a.required("model"), a.required("data"), *backend, seed,
                                                              a.integer("batch-size", 128), {}, a.flag("strict-counts"));
  report_data(quiet, inf.data.data);
  const bool use_mean = parse_bool(a, "give-mean", true);
  const std::string ukey = a.str("obsm-key-u", "X_mrvi_u"), zkey = a.str("obsm-key-z", "X_mrvi_z");
  CUVI_CHECK(ukey != zkey, "--obsm-key-u and --obsm-key-z must differ");
  io::H5adWriter w = workflow::open_result_file(inf.data, a.required("out"));
  const int64_t R = inf.data.data.counts.n_rows;
  const models::MrviConfig& c = inf.model->config();
  const auto u = inf.session->latent(false, use_mean, seed);
  const auto z = inf.session->latent(true, use_mean, seed);
  w.add_obsm(ukey, u.data(), R, c.n_latent_u);
  w.add_obsm(zkey, z.data(), R, c.n_latent);
  w.add_uns_string("cuvi/latent/model", a.required("model"));
  w.add_uns_string("cuvi/latent/kind", use_mean ? "posterior mean" : "posterior sample");
  w.commit();
  info(quiet, "wrote obsm['" + ukey + "'] (" + std::to_string(R) + " x " + std::to_string(c.n_latent_u) + ") and obsm['" +
                  zkey + "'] (" + std::to_string(R) + " x " + std::to_string(c.n_latent) + ") to " + a.required("out"));
  return 0;
}

}  // namespace

int cmd_latent(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi latent --model MODEL --data FILE --out OUT.h5ad [options]\n"
        "  --give-mean true       posterior mean (false: one posterior sample)\n"
        "  --batch-size 128 --seed 0 --device auto|cpu|cuda --threads N --quiet\n"
        "  --strict-counts        refuse non-integer counts (default: use them with a warning)\n"
        "SCVI models:\n"
        "  --obsm-key X_scVI      where the latent goes (n_obs x n_latent, float32)\n"
        "  --n-samples S          also write S posterior samples as obsm['<key>_sample_<k>']\n"
        "  --mc-samples 5000      samples averaged for the mean of a 'ln' latent\n"
        "MRVI models: u and z (z = z_base(u) + eps(u, the cell's own sample))\n"
        "  --obsm-key-u X_mrvi_u --obsm-key-z X_mrvi_z\n"
        "MULTIVI models: a new .h5ad over the cells (genes + regions, obs['modality'])\n"
        "  --obsm-key X_multivi     --modality joint|expression|accessibility (default joint)\n"
        "  --rna-data FILE --atac-data FILE   RNA-only / ATAC-only cells added to --data\n"
        "RegularizedVI models: obsm['X_scVI'] (AmbientRegularizedSCVI) or obsm['X_latent_joint'] and\n"
        "  obsm['X_latent_<modality>'] (RegularizedMultimodalVI); --obsm-key KEY\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  if (model_kind_in(argv) == workflow::kMultiviKind) return latent_multivi(argv);
  if (model_kind_in(argv) == workflow::kRegviKind) return latent_regvi(argv);
  const Args a(argv, {"model", "data", "out", "obsm-key", "obsm-key-u", "obsm-key-z", "give-mean", "n-samples",
                      "mc-samples", "batch-size", "seed", "device", "threads"},
               {"quiet", "strict-counts"});
  const std::string kind = workflow::read_model_file(a.required("model")).kind;
  if (kind == workflow::kMrviKind) {
    for (const char* k : {"obsm-key", "n-samples", "mc-samples"})
      CUVI_CHECK(!a.has(k), std::string("--") + k + " applies to SCVI models, not to the MRVI model " + a.required("model"));
    return latent_mrvi(a);
  }
  for (const char* k : {"obsm-key-u", "obsm-key-z"})
    CUVI_CHECK(!a.has(k), std::string("--") + k + " applies to MRVI models, not to " + a.required("model"));
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
