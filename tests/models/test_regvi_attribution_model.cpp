// Attribution on a trained RegularizedMultimodalVI model file (regularizedvi.md §9): the decoders read from the
// model reproduce the model's own px_scale and (atac: no background) px_rate at the same z and library, so the
// attribution differentiates the model's decoder; and `cuvi attribution` writes regularizedvi's keys.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "io/anndata.h"
#include "kernels/cpu/attribution_jvp.h"
#include "tests/cli/cli_test_util.h"
#include "tools/workflow/regvi_attribution_model.h"
#include "tools/workflow/regvi_session.h"

namespace cuvi::test {
namespace {

class RegviAttributionModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = std::filesystem::temp_directory_path() / ("cuvi_regvi_attr_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const CliResult s = run_cuvi("simulate --multiome --atac-peaks 40 --out " + f("mm.h5ad") +
                                 " --n-cells 160 --n-genes 30 --n-cell-types 3 --n-batches 3 --seed 5 --quiet");
    ASSERT_EQ(s.status, 0) << s.output;
    // decoder covariates (batch, 3 categories; feature scaling defaults to them), one continuous covariate,
    // a two-layer rna decoder
    const CliResult t = run_cuvi("train regularized-multimodal --data " + f("mm.h5ad") +
                                 " --batch-key batch --nn-conditioning-covariate-keys batch"
                                 " --nn-continuous-covariate-keys age --n-hidden rna=16,atac=12 --n-latent rna=4,atac=3"
                                 " --n-layers rna=2,atac=1 --max-epochs 3 --device cpu --threads 2 --quiet --out " +
                                 f("mm.cuvi"));
    ASSERT_EQ(t.status, 0) << t.output;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir); }
  static std::string f(const std::string& name) { return (dir / name).string(); }
  static std::filesystem::path dir;
};
std::filesystem::path RegviAttributionModel::dir;

TEST_F(RegviAttributionModel, DecodersReproduceTheModelsForward) {
  auto be = make_cpu_backend(3, 2);
  workflow::RegviInference inf = workflow::open_regvi(f("mm.cuvi"), f("mm.h5ad"), *be, 3);
  models::RegviModel& model = *inf.model;
  const models::RegviConfig& c = model.config();
  ASSERT_EQ(c.modalities.size(), 2u);
  const auto decoders = workflow::regvi_decoder_weights(model);
  EXPECT_EQ(decoders[1].w.size(), 2u);  // rna: two layers
  EXPECT_FALSE(decoders[0].scaling.empty());  // atac: feature scaling by batch
  const int64_t R = inf.data.counts().n_rows, K = c.total_latent();
  std::vector<float> z(static_cast<size_t>(R * K));
  std::vector<std::vector<float>> scale(2), rate(2), lib(2, std::vector<float>(static_cast<size_t>(R)));
  for (size_t m = 0; m < 2; ++m) {
    scale[m].resize(static_cast<size_t>(R * c.modalities[m].n_features));
    rate[m].resize(scale[m].size());
  }
  workflow::RegviSession session(*be, model, inf.data, 64);
  session.for_each_batch(0, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    models::Graph g{tape, model.params(), false, nullptr};
    models::RegviForwardOptions fo;
    fo.compute_loss = false;
    fo.z_from_mean = true;
    const models::RegviOutputs o = model.forward(g, model.inputs(tape, mb), fo);
    workflow::download_rows(*be, tape.value(o.z), z.data(), row0, K);
    for (size_t m = 0; m < 2; ++m) {
      const int64_t F = c.modalities[m].n_features;
      workflow::download_rows(*be, tape.value(o.m[m].px_scale), scale[m].data(), row0, F);
      workflow::download_rows(*be, tape.value(o.m[m].px_rate), rate[m].data(), row0, F);
      workflow::download_rows(*be, tape.value(o.m[m].library), lib[m].data(), row0, 1);
    }
  });
  models::RegviConfig sized = c;
  const models::RegviCells cells = workflow::regvi_cells(inf.data, inf.file.keys, &sized);
  const workflow::CategoricalCodes nn{c.n_cats_nn, cells.nn, R}, fs{c.n_cats_scaling, cells.scaling, R};
  const std::vector<float> cov = workflow::decoder_covariate_input(nn, false, workflow::CovariateReference::Zero, {});
  std::vector<float> ind;
  int64_t S = 0;
  ASSERT_TRUE(workflow::feature_scaling_indicator(fs, false, workflow::CovariateReference::Zero, {}, &ind, &S));
  for (size_t m = 0; m < 2; ++m) {
    const workflow::ModalityDecoder md = decoders[m].view(c, K);
    const int64_t F = md.decoder.n_features;
    std::vector<float> zero_lib(static_cast<size_t>(R), 0.f), table;
    DecoderPoint<float> p;
    p.n_cells = R;
    p.z = z.data();
    p.cont = inf.data.cells.cont.data();
    p.cov = cov.data();
    p.log_library = zero_lib.data();
    std::vector<double> zr(static_cast<size_t>(K)), got(static_cast<size_t>(F));
    const double tol = 8.0 * double(K + 2 * 16 + F) * std::numeric_limits<float>::epsilon();
    for (int64_t n = 0; n < R; ++n) {  // px_scale: exp(0) * softplus(head), no scaling
      for (int64_t k = 0; k < K; ++k) zr[size_t(k)] = z[size_t(n * K + k)];
      cpu::decoder_rate(md.decoder, p, n, zr.data(), got.data());
      for (int64_t g = 0; g < F; ++g)
        ASSERT_NEAR(got[size_t(g)], scale[m][size_t(n * F + g)], tol * std::max(1.0, got[size_t(g)]))
            << md.name << " cell " << n << " feature " << g;
    }
    if (md.name != "atac") continue;
    // atac has no background: px_rate = exp(library) * px_scale * scaling, from the decoder's own parts
    table.resize(decoders[m].scaling.size());
    for (size_t e = 0; e < table.size(); ++e) {
      const double gm = decoders[m].scaling[e];
      table[e] = float((gm > 20 ? gm : std::log1p(std::exp(gm))) / 0.7);
    }
    p.log_library = lib[m].data();
    p.fs_indicator = ind.data();
    p.fs_table = table.data();
    p.n_fs_rows = S;
    for (int64_t n = 0; n < R; ++n) {
      for (int64_t k = 0; k < K; ++k) zr[size_t(k)] = z[size_t(n * K + k)];
      cpu::decoder_rate(md.decoder, p, n, zr.data(), got.data());
      for (int64_t g = 0; g < F; ++g)
        ASSERT_NEAR(got[size_t(g)], rate[m][size_t(n * F + g)], tol * std::max(1.0, got[size_t(g)]))
            << "px_rate cell " << n << " feature " << g;
    }
  }
}

TEST_F(RegviAttributionModel, CliWritesRegularizedviKeys) {
  const CliResult r = run_cuvi("attribution --model " + f("mm.cuvi") + " --data " + f("mm.h5ad") + " --out " +
                               f("attr.h5ad") + " --device cpu --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  const CliResult r2 = run_cuvi("attribution --model " + f("mm.cuvi") + " --data " + f("mm.h5ad") + " --out " +
                                f("attr2.h5ad") + " --remove-covariates all --covariate-reference mean --suffix _nocov"
                                " --device cpu --quiet");
  ASSERT_EQ(r2.status, 0) << r2.output;
  ASSERT_EQ(run_cuvi("latent --model " + f("mm.cuvi") + " --data " + f("mm.h5ad") + " --out " + f("lat.h5ad") +
                     " --device cpu --quiet").status, 0);
  const io::AnnDataFile a = io::AnnDataFile::open(f("attr.h5ad")), b = io::AnnDataFile::open(f("attr2.h5ad"));
  int64_t K = 0, d = 0;
  const std::vector<float> z = io::AnnDataFile::open(f("lat.h5ad")).read_obsm("X_latent_joint", &K);
  ASSERT_EQ(K, 7);
  const int64_t R = a.n_obs();
  double differs = 0;
  for (const std::string m : {"atac", "rna"}) {
    const std::vector<float> wz = a.read_obsm("X_latent_attr_" + m, &d);
    ASSERT_EQ(d, K);
    const io::Column* total = a.obs().find(m + "_decoder_total_attr");
    const io::Column* own = a.obs().find(m + "_decoder_own_attr");
    const io::Column* total_nocov = b.obs().find(m + "_decoder_total_attr_nocov");
    ASSERT_TRUE(total && own && total_nocov);
    for (int64_t n = 0; n < R; ++n) {
      double sum = 0;  // weighted_z / z = attribution at the posterior means cuvi latent writes
      for (int64_t k = 0; k < K; ++k) sum += double(wz[size_t(n * K + k)]) / double(z[size_t(n * K + k)]);
      EXPECT_NEAR(sum, total->numeric[size_t(n)], 1e-4 * total->numeric[size_t(n)]) << m << " cell " << n;
      EXPECT_GT(own->numeric[size_t(n)], 0.0);
      EXPECT_LT(own->numeric[size_t(n)], total->numeric[size_t(n)]);
      differs = std::max(differs, std::abs(total_nocov->numeric[size_t(n)] - total->numeric[size_t(n)]));
    }
  }
  EXPECT_GT(differs, 0.0);  // the covariate options reach the decoders
  const io::Column* ratio = a.obs().find("log2_atac_vs_rna_attr");
  ASSERT_TRUE(ratio);
  EXPECT_NEAR(ratio->numeric[0],
              std::log2(a.obs().find("atac_decoder_total_attr")->numeric[0] /
                        (a.obs().find("rna_decoder_total_attr")->numeric[0] + 1e-10)),
              1e-12);
  const CliResult bad = run_cuvi("attribution --model " + f("mm.cuvi") + " --data " + f("mm.h5ad") + " --out " +
                                 f("bad.h5ad") + " --covariate-reference median --device cpu");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("covariate_reference must be"), std::string::npos) << bad.output;
  EXPECT_FALSE(std::filesystem::exists(f("bad.h5ad")));
}

}  // namespace
}  // namespace cuvi::test
