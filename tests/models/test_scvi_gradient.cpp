// The whole SCVI loss recorded on the tape: its parameter gradients equal central finite differences
// of the loss (f32 parameters, so differences use a relative step and a tolerance set by f32 rounding).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/arena.h"
#include "models/scvi/scvi_model.h"

namespace cuvi::models {
namespace {

struct Fixture {
  std::unique_ptr<Backend> backend = make_cpu_backend(7, 1);
  ScviConfig cfg;
  std::unique_ptr<ScviModel> model;
  std::vector<float> x;
  std::vector<int32_t> batch, codes;
  int64_t N = 9, G = 13;

  explicit Fixture(ScviConfig c, int64_t n = 9, int64_t g = 13) : cfg(c), N(n), G(g) {
    cfg.n_genes = G;
    model = std::make_unique<ScviModel>(cfg);
    model->allocate(*backend, 3);
    x.resize(N * G);
    for (int64_t i = 0; i < N * G; ++i) x[i] = float((i * 7919) % 11 < 5 ? 0 : (i * 104729) % 9);
    for (int64_t i = 0; i < N; ++i) x[i * G] += 1;  // every cell has counts
    batch.resize(N);
    for (int64_t i = 0; i < N; ++i) batch[i] = int32_t(i % cfg.n_batch);
    const CovariateLayout& l = model->module().layout();
    codes.resize(N * l.n_codes);
    for (int64_t i = 0; i < N; ++i) l.encode(batch[i], nullptr, codes.data() + i * l.n_codes);
    if (!cfg.use_observed_lib_size) {
      std::vector<double> totals(N, 0);
      for (int64_t i = 0; i < N; ++i)
        for (int64_t g = 0; g < G; ++g) totals[i] += x[i * G + g];
      model->set_library_prior_from_counts(totals, batch);
    }
  }
  MiniBatch minibatch() {
    MiniBatch mb;
    mb.n = N;
    mb.x = Tensor(x.data(), DType::F32, Device::CPU, Shape{N, G});
    if (!codes.empty()) mb.codes = Tensor(codes.data(), DType::I32, Device::CPU, Shape{N, int64_t(codes.size()) / N});
    mb.batch = Tensor(batch.data(), DType::I32, Device::CPU, Shape{N});
    mb.labels = Tensor(batch.data(), DType::I32, Device::CPU, Shape{N});
    return mb;
  }
  double loss(Arena& arena, bool backward) {
    Tape tape(*backend, arena);
    tape.begin_step();
    const StepTensors st = model->record(tape, minibatch(), true);
    float v = 0;
    std::memcpy(&v, tape.value(st.loss).data, 4);
    if (backward) tape.backward(st.loss);
    return v;
  }
};

// Central differences with step 5e-4 (relative) on f32 parameters: the f32 loss (~30) rounds at
// ~2e-6, i.e. ~2e-3 in the quotient, so the absolute tolerance is 2e-4 (1 + |loss|); the relative
// 2% covers curvature across ReLU kinks that a step this size can still cross.
void check_gradient(ScviConfig cfg, int64_t n = 9, int64_t g = 13) {
  Fixture f(cfg, n, g);
  Arena arena(*f.backend, 64 << 20, "test");
  StepScalars s;
  s.kl_weight = 0.7;
  s.step = 3;
  f.backend->write_scalars(s);
  f.loss(arena, true);
  ParamStore& ps = f.model->params();
  const std::vector<float> grads(ps.flat_grads(), ps.flat_grads() + ps.n_trainable_floats());
  int checked = 0;
  for (size_t id = 0; id < ps.entries().size(); ++id) {
    const ParamEntry& e = ps.entry(int(id));
    if (!e.trainable) continue;
    float* p = ps.flat_params() + e.offset;
    const int64_t n = e.shape.numel();
    for (int64_t k = 0; k < n; k += std::max<int64_t>(1, n / 5)) {
      const float g = grads[e.offset + k];
      const float p0 = p[k];
      const float h = 5e-4f * std::max(1.f, std::fabs(p0));
      p[k] = p0 + h;
      const double lp = f.loss(arena, false);
      p[k] = p0 - h;
      const double lm = f.loss(arena, false);
      p[k] = p0;
      const double fd = (lp - lm) / (2.0 * double(h));
      EXPECT_NEAR(g, fd, 0.02 * std::fabs(fd) + 2e-4 * (1 + std::fabs(lp)))
          << e.name << "[" << k << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

ScviConfig small() {
  ScviConfig c;
  c.n_hidden = 6;
  c.n_latent = 3;
  c.n_batch = 2;
  c.dropout_rate = 0.1;
  return c;
}

TEST(ScviGradient, ZinbGeneObservedLibrary) { check_gradient(small()); }
TEST(ScviGradient, NbGeneBatchLearnedLibraryTwoLayers) {
  ScviConfig c = small();
  c.gene_likelihood = "nb";
  c.dispersion = "gene-batch";
  c.use_observed_lib_size = false;
  c.n_layers = 2;
  check_gradient(c);
}
TEST(ScviGradient, PoissonLayerNormLogNormalLatent) {
  ScviConfig c = small();
  c.gene_likelihood = "poisson";
  c.use_batch_norm = "none";
  c.use_layer_norm = "both";
  c.latent_distribution = "ln";
  check_gradient(c);
}
TEST(ScviGradient, ZinbGeneCellEncodedCovariates) {
  ScviConfig c = small();
  c.dispersion = "gene-cell";
  c.encode_covariates = true;
  check_gradient(c);
}
TEST(ScviGradient, LinearScvi) {
  ScviConfig c = ScviConfig::linear_scvi();
  c.n_hidden = 6;
  c.n_latent = 3;
  c.n_batch = 2;
  check_gradient(c);
}

}  // namespace
}  // namespace cuvi::models
