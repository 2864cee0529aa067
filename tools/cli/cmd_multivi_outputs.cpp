// MULTIVI's per-cell outputs (scvi-multivi.md §2.7): cuvi latent (obsm['X_multivi']), cuvi normalize
// (normalized expression, imputed for ATAC-only cells) and cuvi accessibility (accessibility
// estimates, imputed for RNA-only cells), each a new .h5ad over the cells with the modality column.
#include <cstdio>
#include <map>

#include "engine/error.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/cli/multivi_options.h"
#include "tools/workflow/output.h"

namespace cuvi::cli {
namespace {

const std::set<std::string> kInferenceOptions = {"model", "data", "out", "rna-data", "atac-data", "batch-size",
                                                 "seed", "device", "threads"};
const std::set<std::string> kInferenceFlags = {"quiet", "strict-counts"};
const char* kInferenceHelp =
    "  --indices FILE           only these cells (0-based rows of the data, one per line), in that order\n"
    "  --rna-data FILE --atac-data FILE   RNA-only / ATAC-only cells added to --data (as for training)\n"
    "  --batch-size 128 --seed 0 --device auto|cpu|cuda --threads N --quiet --strict-counts\n";

// Indices of `names` in `all` (fails naming an unknown one).
std::vector<int64_t> indices_of(const std::vector<std::string>& all, const std::vector<std::string>& names,
                                const char* option) {
  std::map<std::string, int64_t> pos;
  for (size_t i = 0; i < all.size(); ++i) pos.emplace(all[i], int64_t(i));
  std::vector<int64_t> out;
  for (const std::string& n : names) {
    auto it = pos.find(n);
    CUVI_CHECK(it != pos.end(), std::string("--") + option + ": '" + n + "' is not a feature of the model");
    out.push_back(it->second);
  }
  return out;
}

}  // namespace

int latent_multivi(const Argv& argv) {
  const Args a(argv, merge({kInferenceOptions, {"obsm-key", "modality", "give-mean"}}), kInferenceFlags);
  const bool quiet = a.flag("quiet");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  const std::string modality = a.str("modality", "joint");
  auto backend = backend_from(a, quiet);
  workflow::MultiviInference inf = open_multivi(a, *backend, seed, a.integer("batch-size", 128));
  const bool give_mean = parse_bool(a, "give-mean", true);
  const std::string key = a.str("obsm-key", modality == "joint" ? "X_multivi" : "X_multivi_" + modality);
  const auto z = inf.session->latent(modality, give_mean, seed);
  const int64_t R = inf.data.data.counts.n_rows, L = inf.model->config().n_latent;
  io::H5adWriter w = workflow::open_multiome_result(inf.data, a.required("out"), workflow::MultiomeFeatures::All);
  w.add_obsm(key, z.data(), R, L);
  w.add_uns_string("cuvi/latent/model", a.required("model"));
  w.add_uns_string("cuvi/latent/modality", modality);
  w.add_uns_string("cuvi/latent/kind", give_mean ? "posterior mean" : "posterior sample");
  w.commit();
  info(quiet, "wrote obsm['" + key + "'] (" + std::to_string(R) + " x " + std::to_string(L) + ") to " + a.required("out"));
  return 0;
}

int normalize_multivi(const Argv& argv) {
  const Args a(argv, merge({kInferenceOptions, {"layer-key", "use-z-mean", "indices"}}), kInferenceFlags,
               {"transform-batch", "genes"});
  const bool quiet = a.flag("quiet");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  auto backend = backend_from(a, quiet);
  workflow::MultiviInference inf = open_multivi(a, *backend, seed, a.integer("batch-size", 128));
  const workflow::DataRegistry& reg = inf.file.file.registry;
  workflow::MultiviExpressionOptions opt;
  opt.transform_batches = batch_codes(reg, a.list("transform-batch"));
  opt.use_z_mean = parse_bool(a, "use-z-mean", true);
  opt.genes = indices_of(reg.genes, a.list("genes"), "genes");
  const std::vector<int32_t> rows =
      a.has("indices") ? read_cell_indices(a.str("indices"), inf.data.data.counts.n_rows) : std::vector<int32_t>();
  CUVI_CHECK(rows.empty() || opt.genes.empty(), "--indices and --genes: give one of them");
  const auto expr = inf.session->normalized_expression(opt, seed, rows);
  const int64_t R = rows.empty() ? inf.data.data.counts.n_rows : int64_t(rows.size());
  const int64_t F = opt.genes.empty() ? int64_t(reg.genes.size()) : int64_t(opt.genes.size());
  const std::string layer = a.str("layer-key", "multivi_normalized");
  io::H5adWriter w = [&] {
    if (opt.genes.empty())
      return workflow::open_multiome_result(inf.data, a.required("out"), workflow::MultiomeFeatures::Genes, rows);
    io::DataFrame var;
    var.index = a.list("genes");
    io::H5adWriter sub = io::H5adWriter::create(a.required("out"), inf.data.data.obs, var);
    sub.set_x_dense(expr.data(), R, F);
    return sub;
  }();
  w.add_layer_dense(layer, expr.data(), R, F);
  w.add_uns_string("cuvi/normalize/model", a.required("model"));
  w.commit();
  info(quiet, "wrote layer '" + layer + "' (" + std::to_string(R) + " cells x " + std::to_string(F) +
                  " genes; ATAC-only cells imputed from the joint latent) to " + a.required("out"));
  return 0;
}

int cmd_accessibility(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs((std::string("usage: cuvi accessibility --model MULTIVI_MODEL --data FILE --out OUT.h5ad [options]\n"
                            "scvi-tools' get_normalized_accessibility for every cell (imputed for RNA-only cells):\n"
                            "  --threshold T            values below T become 0 and the layer is stored sparse (CSR)\n"
                            "  --normalize-cells        times the cell-specific factor d\n"
                            "  --normalize-regions      times sigmoid(region factors)\n"
                            "  --transform-batch B      decode as this batch category\n"
                            "  --use-z-mean true        decode from the posterior mean (false: one z sample)\n"
                            "  --regions R...           only these regions (var names)\n"
                            "  --layer-key multivi_accessibility\n") +
                kInferenceHelp)
                   .c_str(),
               argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, merge({kInferenceOptions, {"threshold", "transform-batch", "use-z-mean", "layer-key", "indices"}}),
               merge({kInferenceFlags, {"normalize-cells", "normalize-regions"}}), {"regions"});
  CUVI_CHECK(model_kind_in(argv) == workflow::kMultiviKind,
             a.required("model") + ": accessibility estimates need a MULTIVI model");
  const bool quiet = a.flag("quiet");
  const uint64_t seed = uint64_t(a.integer("seed", 0));
  const double threshold = a.number("threshold", 0);
  CUVI_CHECK(threshold >= 0 && threshold <= 1, "--threshold must be between 0 and 1");
  auto backend = backend_from(a, quiet);
  workflow::MultiviInference inf = open_multivi(a, *backend, seed, a.integer("batch-size", 128));
  const workflow::DataRegistry& reg = inf.file.file.registry;
  workflow::AccessibilityOptions opt;
  if (a.has("transform-batch")) opt.transform_batch = batch_codes(reg, {a.str("transform-batch")}).at(0);
  opt.use_z_mean = parse_bool(a, "use-z-mean", true);
  opt.normalize_cells = a.flag("normalize-cells");
  opt.normalize_regions = a.flag("normalize-regions");
  opt.regions = indices_of(reg.regions, a.list("regions"), "regions");
  const std::vector<int32_t> rows =
      a.has("indices") ? read_cell_indices(a.str("indices"), inf.data.data.counts.n_rows) : std::vector<int32_t>();
  CUVI_CHECK(rows.empty() || opt.regions.empty(), "--indices and --regions: give one of them");
  const auto p = inf.session->accessibility(opt, seed, rows);
  const int64_t R = rows.empty() ? inf.data.data.counts.n_rows : int64_t(rows.size());
  const int64_t F = opt.regions.empty() ? int64_t(reg.regions.size()) : int64_t(opt.regions.size());
  const std::string layer = a.str("layer-key", "multivi_accessibility");
  io::H5adWriter w = [&] {
    if (opt.regions.empty())
      return workflow::open_multiome_result(inf.data, a.required("out"), workflow::MultiomeFeatures::Regions, rows);
    io::DataFrame var;
    var.index = a.list("regions");
    io::H5adWriter sub = io::H5adWriter::create(a.required("out"), inf.data.data.obs, var);
    sub.set_x_dense(p.data(), R, F);
    return sub;
  }();
  if (threshold > 0) {  // scvi-tools: p[p < threshold] = 0, returned as CSR
    io::CsrMatrix m;
    m.n_rows = R;
    m.n_cols = F;
    m.indptr.push_back(0);
    for (int64_t i = 0; i < R; ++i) {
      for (int64_t j = 0; j < F; ++j) {
        const float v = p[size_t(i * F + j)];
        if (v >= float(threshold) && v != 0.f) {
          m.indices.push_back(int32_t(j));
          m.data.push_back(v);
        }
      }
      m.indptr.push_back(int64_t(m.data.size()));
    }
    w.add_layer_csr(layer, m);
  } else {
    w.add_layer_dense(layer, p.data(), R, F);
  }
  w.add_uns_string("cuvi/accessibility/model", a.required("model"));
  w.add_uns_number("cuvi/accessibility/threshold", threshold);
  w.commit();
  info(quiet, "wrote layer '" + layer + "' (" + std::to_string(R) + " cells x " + std::to_string(F) +
                  " regions; RNA-only cells imputed from the joint latent) to " + a.required("out"));
  return 0;
}

}  // namespace cuvi::cli
