// cuvi loadings: LinearSCVI's gene loadings (genes x latent dimensions) as CSV, scvi-tools'
// get_loadings (scvi-multivi.md §1.8): diag(gamma / sqrt(running_var + eps)) W without the batch columns.
#include <cstdio>
#include <fstream>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/scvi_file.h"

namespace cuvi::cli {

int cmd_loadings(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs("usage: cuvi loadings --model MODEL --out loadings.csv\n"
               "writes a LinearSCVI model's gene loadings: one row per gene, one column per latent dimension\n",
               argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, {"model", "out"});
  const workflow::ScviFile f = workflow::read_scvi(a.required("model"));
  CUVI_CHECK(f.config.model == "LinearSCVI", a.required("model") + " is an " + f.config.model +
                                                 " model; gene loadings exist only for LinearSCVI (cuvi train linear-scvi)");
  auto backend = make_cpu_backend(0, 1);
  auto model = workflow::load_scvi_model(f, *backend, 0);
  const std::vector<float> w = model->module().loadings(model->params());
  const std::string out = a.required("out"), tmp = out + ".tmp";
  {
    std::ofstream os(tmp);
    CUVI_CHECK(os.good(), "cannot write " + out);
    os << "gene";
    for (int64_t k = 0; k < f.config.n_latent; ++k) os << ",Z_" << k;
    os << "\n";
    os.precision(9);
    for (int64_t g = 0; g < f.config.n_genes; ++g) {
      os << f.registry.genes[g];
      for (int64_t k = 0; k < f.config.n_latent; ++k) os << "," << w[g * f.config.n_latent + k];
      os << "\n";
    }
    CUVI_CHECK(os.good(), "error writing " + out);
  }
  CUVI_CHECK(std::rename(tmp.c_str(), out.c_str()) == 0, "cannot write " + out);
  return 0;
}

}  // namespace cuvi::cli
