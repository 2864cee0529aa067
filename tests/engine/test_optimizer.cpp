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

}  // namespace
}  // namespace cuvi
