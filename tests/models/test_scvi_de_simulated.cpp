// DE on simulated data with known DE genes (tools/workflow/simulate): SCVI trained in-process,
// change-mode DE stim vs ctrl; precision and recall of is_de_fdr_0.05 and of the top-k by proba_de
// against var['is_de'], and lfc_mean against the true log2 fold change.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "engine/trainer.h"
#include "tools/workflow/scvi_de.h"
#include "tools/workflow/scvi_file.h"
#include "tools/workflow/simulate.h"

namespace cuvi::workflow {
namespace {

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ma += a[i] / double(a.size());
    mb += b[i] / double(b.size());
  }
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

// One cell type, one batch, 500 cells x 300 genes, 20 DE genes (|true log2 FC| >= 1.73).
// var['de_log2fc'] is a shift of the generating logits; DE estimates fold changes of normalised
// expression, which differ from it by c = log2(sum exp(base + lfc) / sum exp(base)) for every gene.
// Seed 4 has c = 0.002 (seeds with |c| near delta make every gene DE in normalised terms), so
// var['is_de'] is the truth of what DE estimates.
TEST(ScviDeSimulated, ChangeModeFindsTheSimulatedDeGenes) {
  SimulationConfig sc;
  sc.n_cells = 500;
  sc.n_genes = 300;
  sc.n_cell_types = 1;
  sc.n_batches = 1;
  sc.n_donors = 8;
  sc.de_fraction = 0.067;
  sc.seed = 4;
  const SimulatedData sim = simulate(sc);
  const std::string dir = ::testing::TempDir();
  const std::string data_path = dir + "/cuvi_de_sim.h5ad", model_path = dir + "/cuvi_de_sim.cuvi";
  write_simulation(sim, sc, data_path);

  // Training as `cuvi train scvi --max-epochs 100 --n-hidden 64 --seed 4` (1 CPU thread).
  {
    PreparedData data = prepare_data(data_path, SetupKeys{});
    models::ScviConfig cfg;
    cfg.n_genes = data.data.counts.n_cols;
    cfg.n_hidden = 64;
    auto backend = make_cpu_backend(4, 1);
    models::ScviModel model(cfg);
    model.allocate(*backend, 4);
    encode_codes(data, model.module().layout());
    const io::CsrMatrix& m = data.data.counts;
    DeviceDataset ds(*backend, CsrView{m.indptr.data(), m.indices.data(), m.data.data(), m.n_rows, m.n_cols},
                     data.cells);
    TrainConfig tc;
    tc.max_epochs = 100;
    tc.seed = 4;
    tc.progress = false;
    Trainer trainer(*backend, model, ds, tc);
    const TrainResult r = trainer.fit();
    save_scvi(model_path, model, data.registry, r.history, {});
  }

  auto backend = make_cpu_backend(4, 1);
  ScviInference inf = open_scvi_inference(model_path, data_path, *backend, 4, 128);
  DeOptions o;
  o.groupby = "condition";
  o.group1 = {"stim"};
  o.group2 = "ctrl";
  o.mode = "change";
  o.seed = 4;
  const DeResult r = differential_expression(inf, o);
  const ResultTable& t = r.table;
  ASSERT_EQ(t.n_rows(), sc.n_genes);

  const io::Column* is_de = sim.var.find("is_de");
  const io::Column* lfc = sim.var.find("de_log2fc");
  const io::Column* base = sim.var.find("base_log_expression");
  ASSERT_TRUE(is_de && lfc && base);
  double z0 = 0, z1 = 0;
  for (int64_t g = 0; g < sc.n_genes; ++g) {
    z0 += std::exp(base->numeric[g]);
    z1 += std::exp(base->numeric[g] + lfc->numeric[g] * std::log(2.0));
  }
  const double c = std::log2(z1 / z0);
  ASSERT_LT(std::fabs(c), 0.05);

  std::map<std::string, int64_t> gene_index;
  for (int64_t g = 0; g < sc.n_genes; ++g) gene_index[sim.var.index[g]] = g;
  int64_t n_true = 0, n_pred = 0, tp = 0, tp_top = 0;
  for (int64_t g = 0; g < sc.n_genes; ++g) n_true += is_de->numeric[g] != 0;
  std::vector<double> est, truth;
  const auto& flag = t.at("is_de_fdr_0.05").num;
  for (int64_t i = 0; i < t.n_rows(); ++i) {
    const int64_t g = gene_index.at(t.index[i]);
    const bool de = is_de->numeric[g] != 0;
    n_pred += flag[i] != 0;
    tp += de && flag[i] != 0;
    if (i < n_true) tp_top += de;  // rows are sorted by proba_de
    if (de) {
      est.push_back(t.at("lfc_mean").num[i]);
      truth.push_back(lfc->numeric[g] - c);
    }
  }
  const double precision = double(tp) / double(std::max<int64_t>(n_pred, 1)), recall = double(tp) / double(n_true);
  const double top_k = double(tp_top) / double(n_true), corr = pearson(est, truth);
  std::printf("[ simulated ] %lld DE genes, %lld flagged: precision %.3f recall %.3f top-k precision %.3f "
              "corr(lfc_mean, true log2 FC) %.3f\n",
              (long long)n_true, (long long)n_pred, precision, recall, top_k, corr);
  // Measured with `cuvi train` + `cuvi de` on seeds 1, 4, 6, 8, 9, 10, 12 (|c| < 0.09): precision
  // 0.79-1.00, recall 0.45-0.75 (the misses are DE genes with mean counts below ~0.6, which no
  // posterior separates from delta = 0.25), top-k precision 0.60-0.85, correlation over the DE
  // genes 0.79-0.96. A DE that ignores the data scores precision ~0.07 (20 of 300) and corr ~0.
  EXPECT_GE(precision, 0.7);
  EXPECT_GE(recall, 0.4);
  EXPECT_GE(top_k, 0.5);
  EXPECT_GE(corr, 0.7);
  std::filesystem::remove(data_path);
  std::filesystem::remove(model_path);
}

}  // namespace
}  // namespace cuvi::workflow
