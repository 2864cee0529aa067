// cuvi sample: posterior predictive counts from a trained SCVI (scvi-tools'
// posterior_predictive_sample), written as CSR layers of a copy of the data file.
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/output.h"
#include "tools/workflow/scvi_inference.h"
#include "tools/workflow/scvi_sample.h"

namespace cuvi::cli {
namespace {

const char* kHelp =
    "usage: cuvi sample --model MODEL --data FILE --out OUT.h5ad [options]\n"
    "  --n-samples 1                      draws per cell (each from a fresh posterior z)\n"
    "  --layer-key scvi_posterior_sample  layer name; with S > 1 draws: <key>_0 ... <key>_<S-1>\n"
    "  --batch-size 128 --seed 0 --device auto|cpu|cuda --threads N --quiet\n"
        "  --strict-counts      refuse non-integer counts (default: use them with a warning)\n"
    "Denoised expression at a chosen library size is `cuvi normalize --library-size N`.\n";

}  // namespace

int cmd_sample(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(kHelp, argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, {"model", "data", "out", "n-samples", "layer-key", "batch-size", "seed", "device", "threads"},
               {"quiet", "strict-counts"});
  const bool quiet = a.flag("quiet");
  workflow::SampleOptions o;
  o.n_samples = a.integer("n-samples", 1);
  o.batch_size = a.integer("batch-size", 128);
  o.seed = uint64_t(a.integer("seed", 0));
  CUVI_CHECK(o.n_samples >= 1, "--n-samples must be at least 1");
  CUVI_CHECK(o.batch_size >= 1, "--batch-size must be positive");
  const std::string out = a.required("out");
  const std::string key = a.str("layer-key", "scvi_posterior_sample");
  CUVI_CHECK(!key.empty() && key.find('/') == std::string::npos, "--layer-key must be a plain name");
  auto backend = backend_from(a, quiet);
  workflow::ScviInference inf =
      open_inference(a, *backend, o.seed, o.batch_size);
  const auto draws = workflow::posterior_predictive_sample(*inf.session, o);
  io::H5adWriter w = workflow::open_result_file(inf.data, out);
  for (size_t s = 0; s < draws.size(); ++s)
    w.add_layer_csr(draws.size() == 1 ? key : key + "_" + std::to_string(s), draws[s]);
  w.add_uns_string("cuvi/sample/model", a.required("model"));
  w.add_uns_integer("cuvi/sample/n_samples", o.n_samples);
  w.commit();
  info(quiet, "wrote " + std::to_string(draws.size()) + " posterior predictive layer(s) '" + key + "' to " + out);
  return 0;
}

}  // namespace cuvi::cli
