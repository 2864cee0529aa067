// Adam / AdamW against an independent double-precision transcription of torch.optim's update,
// parameters without gradient left untouched, and global-norm clipping (mrvi.md §4).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/optimizer.h"
#include "tests/engine/ref_adam.h"

namespace cuvi {
namespace {

void run_case(const AdamConfig& cfg) {
  auto b = make_cpu_backend(1, 1);
  ParamStore ps;
  const int used = ps.add("used", Shape{37}, Init::normal(0, 1));
  const int unused = ps.add("unused", Shape{5}, Init::normal(0, 1));
  ps.allocate(*b);
  ps.initialize(4);
  const std::vector<float> unused0 = ps.get(unused);
  Adam opt(*b, ps, cfg);
  RefAdam ref{cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, cfg.decoupled, {}, {}, {}};
  for (float x : ps.get(used)) ref.p.push_back(x);
  ref.m.assign(37, 0);
  ref.v.assign(37, 0);
  for (int step = 0; step < 5; ++step) {
    std::vector<double> g(37);
    Tensor gt = ps.grad(used);
    double ss = 0;
    for (int i = 0; i < 37; ++i) {
      g[i] = std::sin(1.3 * i + step) * (step + 1);
      gt.ptr<float>()[i] = float(g[i]);
      g[i] = double(float(g[i]));
      ss += g[i] * g[i];
    }
    double scale = 1;
    if (cfg.clip_norm > 0) scale = std::min(1.0, cfg.clip_norm / (std::sqrt(ss) + 1e-6));
    opt.set_used({used});
    opt.step();
    ref.step(g, scale);
  }
  const std::vector<float> got = ps.get(used);
  for (int i = 0; i < 37; ++i) EXPECT_NEAR(got[i], ref.p[i], 2e-6 * (1 + std::fabs(ref.p[i]))) << i;
  EXPECT_EQ(ps.get(unused), unused0) << "a parameter without gradient must not move";
  EXPECT_EQ(b->read_scalars().step, 5);
}

TEST(Adam, ScviCoupledL2MatchesReference) { run_case(AdamConfig::scvi()); }
TEST(Adam, MultiviAdamWMatchesReference) { run_case(AdamConfig::multivi()); }
TEST(Adam, MrviClippedMatchesReference) {
  AdamConfig c = AdamConfig::mrvi();
  c.clip_norm = 3.0;  // small enough that the sine gradients are clipped
  run_case(c);
}

// Two optimizers of one training step (scvi-tools' VAE AdamW and adversarial classifier Adam, §2.5): each
// updates its own parameters with its own settings, the classifier's learning rate is its own (not the
// step scalars'), and the shared step counter (bias correction, Philox step) advances once per step.
TEST(Adam, TwoOptimizersShareOneStepCounter) {
  auto b = make_cpu_backend(1, 1);
  ParamStore ps;
  const int vae = ps.add("vae", Shape{11}, Init::normal(0, 1));
  const int clf = ps.add("clf", Shape{7}, Init::normal(0, 1));
  ps.allocate(*b);
  ps.initialize(9);
  const AdamConfig c1 = AdamConfig::multivi();
  const AdamConfig c2 = AdamConfig::adversarial_classifier(1e-3);
  Adam o1(*b, ps, c1), o2(*b, ps, c2);
  EXPECT_DOUBLE_EQ(b->read_scalars().lr, c1.lr) << "a fixed-lr optimizer must leave the step scalars' lr alone";
  RefAdam r1{c1.lr, c1.beta1, c1.beta2, c1.eps, c1.weight_decay, c1.decoupled, {}, {}, {}};
  RefAdam r2{c2.lr, c2.beta1, c2.beta2, c2.eps, c2.weight_decay, c2.decoupled, {}, {}, {}};
  for (float x : ps.get(vae)) r1.p.push_back(x);
  for (float x : ps.get(clf)) r2.p.push_back(x);
  r1.m.assign(11, 0);
  r1.v.assign(11, 0);
  r2.m.assign(7, 0);
  r2.v.assign(7, 0);
  for (int step = 0; step < 4; ++step) {
    auto fill = [&](int id, int n, double phase, std::vector<double>* g) {
      Tensor t = ps.grad(id);
      g->resize(n);
      for (int i = 0; i < n; ++i) {
        t.ptr<float>()[i] = float(std::cos(0.7 * i + phase + step));
        (*g)[i] = double(t.ptr<float>()[i]);
      }
    };
    std::vector<double> g1, g2;
    fill(vae, 11, 0.0, &g1);
    fill(clf, 7, 2.0, &g2);
    o1.set_used({vae});
    o1.step(false);
    o2.set_used({clf});
    o2.step(true);
    r1.step(g1, 1.0);
    r2.step(g2, 1.0);
    EXPECT_EQ(b->read_scalars().step, step + 1);
  }
  const std::vector<float> p1 = ps.get(vae), p2 = ps.get(clf);
  for (int i = 0; i < 11; ++i) EXPECT_NEAR(p1[i], r1.p[i], 2e-6 * (1 + std::fabs(r1.p[i]))) << "vae " << i;
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(p2[i], r2.p[i], 2e-6 * (1 + std::fabs(r2.p[i]))) << "clf " << i;
}

}  // namespace
}  // namespace cuvi
