// cuvi normalize: scvi-tools' get_normalized_expression for every cell of an SCVI or MRVI model, written
// as a layer (or, for a gene subset, as X of a new file holding those genes).
#include <cstdio>
#include <map>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/output.h"
#include "tools/workflow/regvi_file.h"
#include "tools/workflow/mrvi_session.h"
#include "tools/workflow/scvi_inference.h"

namespace cuvi::cli {

int cmd_normalize(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi normalize --model MODEL --data FILE --out OUT.h5ad [options]\n"
        "  --library-size latent|N   scale of px_scale (default 1; 'latent' gives px_rate)\n"
        "  --n-samples 1             posterior samples averaged\n"
        "  --transform-batch B...    decode as these batch categories (averaged)\n"
        "  --genes G...              only these genes (var names); written as X of a new file\n"
        "  --layer-key scvi_normalized  layer name of the result (mrvi_normalized for MRVI models)\n"
        "  --batch-size 128 --seed 0 --device auto|cpu|cuda --threads N --quiet\n"
        "  --strict-counts      refuse non-integer counts (default: use them with a warning)\n"
        "MULTIVI models: px_scale at the posterior mean (imputed for ATAC-only cells) as layer\n"
        "  'multivi_normalized' of a new .h5ad over the genes; --transform-batch B... --genes G...\n"
        "  --use-z-mean true --indices FILE (only these 0-based rows) --rna-data FILE --atac-data FILE\n"
        "RegularizedVI models: rho * --library-size (softplus decoder output, without ambient background,\n"
        "  feature scaling or library) or the NB mean for 'latent', as a new .h5ad (X and layer\n"
        "  'regularizedvi_normalized'); --modality rna|atac (multimodal) --genes G... --n-samples S\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  if (model_kind_in(argv) == workflow::kMultiviKind) return normalize_multivi(argv);
  if (model_kind_in(argv) == workflow::kRegviKind) return normalize_regvi(argv);
  const Args a(argv, {"model", "data", "out", "library-size", "n-samples", "layer-key", "batch-size", "seed", "device",
                      "threads"},
               {"quiet", "strict-counts"}, {"transform-batch", "genes"});
  const bool quiet = a.flag("quiet");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  auto backend = backend_from(a, quiet);
  const bool mrvi = workflow::read_model_file(a.required("model")).kind == workflow::kMrviKind;
  // The model (SCVI or MRVI) on the data; only the session that decodes differs.
  workflow::ScviInference scvi;
  workflow::MrviInference mrvi_inf;
  if (mrvi) {
    mrvi_inf = workflow::open_mrvi_inference(a.required("model"), a.required("data"), *backend, seed,
                                             a.integer("batch-size", 128), {}, a.flag("strict-counts"));
    report_data(quiet, mrvi_inf.data.data);
  } else {
    scvi = open_inference(a, *backend, seed, a.integer("batch-size", 128));
  }
  const workflow::PreparedData& data = mrvi ? mrvi_inf.data : scvi.data;
  const workflow::DataRegistry& reg = mrvi ? mrvi_inf.file.file.registry : scvi.file.registry;
  workflow::NormalizeOptions opt;
  const std::string lib = a.str("library-size", "1");
  if (lib == "latent") {
    opt.library_latent = true;
  } else {
    opt.library_size = a.number("library-size", 1.0);
    CUVI_CHECK(opt.library_size > 0, "--library-size must be positive or 'latent'");
  }
  opt.n_samples = a.integer("n-samples", 1);
  for (const std::string& b : a.list("transform-batch")) {
    int64_t code = -1;
    for (size_t i = 0; i < reg.batch_categories.size(); ++i)
      if (reg.batch_categories[i] == b) code = int64_t(i);
    CUVI_CHECK(code >= 0, "--transform-batch '" + b + "' is not a batch category of the model");
    opt.transform_batches.push_back(code);
  }
  std::map<std::string, int64_t> gene_pos;
  for (size_t i = 0; i < reg.genes.size(); ++i) gene_pos.emplace(reg.genes[i], int64_t(i));
  std::vector<std::string> names;
  for (const std::string& g : a.list("genes")) {
    auto it = gene_pos.find(g);
    CUVI_CHECK(it != gene_pos.end(), "--genes: '" + g + "' is not a gene of the model");
    opt.genes.push_back(it->second);
    names.push_back(g);
  }
  const auto expr = mrvi ? mrvi_inf.session->normalized_expression(opt, seed)
                         : scvi.session->normalized_expression(opt, seed);
  const int64_t R = data.data.counts.n_rows;
  const std::string layer = a.str("layer-key", mrvi ? "mrvi_normalized" : "scvi_normalized");
  const std::string out = a.required("out");
  if (opt.genes.empty()) {
    io::H5adWriter w = workflow::open_result_file(data, out);
    w.add_layer_dense(layer, expr.data(), R, int64_t(reg.genes.size()));
    w.add_uns_string("cuvi/normalize/model", a.required("model"));
    w.add_uns_string("cuvi/normalize/library_size", lib);
    w.commit();
  } else {
    io::DataFrame var;
    var.index = names;
    io::H5adWriter w = io::H5adWriter::create(out, data.data.obs, var);
    w.set_x_dense(expr.data(), R, int64_t(names.size()));
    w.add_layer_dense(layer, expr.data(), R, int64_t(names.size()));
    w.add_uns_string("cuvi/normalize/model", a.required("model"));
    w.commit();
  }
  info(quiet, "wrote layer '" + layer + "' (" + std::to_string(R) + " cells) to " + out);
  return 0;
}

}  // namespace cuvi::cli
