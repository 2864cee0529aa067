// Adam / AdamW on the CUDA backend (label gpu): the fused segment-table launch, clipping and the device
// step counter against the double-precision transcription of torch.optim (tests/engine/ref_adam.h).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/optimizer.h"
#include "engine/trainer.h"
#include "tests/engine/ref_adam.h"

namespace cuvi {
namespace {

// Three parameters, the middle one never receiving a gradient: the used ones form two segments, so the
// kernel's 2-D grid (elements x segments) and the clipping norm over several segments are exercised.
void run_case(const AdamConfig& cfg) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  auto b = make_cuda_backend(1);
  ParamStore ps;
  const int used = ps.add("used", Shape{37}, Init::normal(0, 1));
  const int unused = ps.add("unused", Shape{5}, Init::normal(0, 1));
  const int wide = ps.add("wide", Shape{300}, Init::normal(0, 1));
  ps.allocate(*b);
  ps.initialize(4);
  const std::vector<float> unused0 = ps.get(unused);
  Adam opt(*b, ps, cfg);
  const int ids[2] = {used, wide};
  std::vector<RefAdam> ref(2, RefAdam{cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, cfg.decoupled,
                                      {}, {}, {}});
  for (int k = 0; k < 2; ++k) {
    for (float x : ps.get(ids[k])) ref[k].p.push_back(x);
    ref[k].m.assign(ref[k].p.size(), 0);
    ref[k].v.assign(ref[k].p.size(), 0);
  }
  for (int step = 0; step < 5; ++step) {
    std::vector<double> g[2];
    double ss = 0;
    for (int k = 0; k < 2; ++k) {
      const size_t n = ref[k].p.size();
      std::vector<float> host(n);
      g[k].resize(n);
      for (size_t i = 0; i < n; ++i) {
        host[i] = float(std::sin(1.3 * double(i) + step + 7 * k) * (step + 1));
        g[k][i] = double(host[i]);
        ss += g[k][i] * g[k][i];
      }
      b->upload(ps.grad(ids[k]).data, host.data(), n * sizeof(float));
    }
    double scale = 1;
    if (cfg.clip_norm > 0) scale = std::min(1.0, cfg.clip_norm / (std::sqrt(ss) + 1e-6));
    opt.set_used({used, wide});
    opt.step();
    for (int k = 0; k < 2; ++k) ref[k].step(g[k], scale);
    if (cfg.clip_norm > 0) {
      const StepScalars s = b->read_scalars();
      EXPECT_NEAR(s.grad_norm, std::sqrt(ss), 1e-9 * std::sqrt(ss)) << "step " << step;
      EXPECT_NEAR(s.clip_scale, scale, 1e-12) << "step " << step;
    }
  }
  for (int k = 0; k < 2; ++k) {
    const std::vector<float> got = ps.get(ids[k]);
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], ref[k].p[i], 2e-6 * (1 + std::fabs(ref[k].p[i]))) << ps.entry(ids[k]).name << "[" << i << "]";
  }
  EXPECT_EQ(ps.get(unused), unused0) << "a parameter without gradient must not move";
  EXPECT_EQ(b->read_scalars().step, 5);
}

TEST(AdamCuda, ScviCoupledL2MatchesReference) { run_case(AdamConfig::scvi()); }
TEST(AdamCuda, MultiviAdamWMatchesReference) { run_case(AdamConfig::multivi()); }
TEST(AdamCuda, MrviClippedMatchesReference) {
  AdamConfig c = AdamConfig::mrvi();
  c.clip_norm = 3.0;  // small enough that the sine gradients are clipped
  run_case(c);
}

// The same five steps on both backends give the same parameters to a few float ulps.
TEST(AdamCuda, AgreesWithCpuBackend) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  AdamConfig cfg = AdamConfig::mrvi();
  cfg.clip_norm = 3.0;
  std::vector<float> result[2];
  for (int dev = 0; dev < 2; ++dev) {
    auto b = dev ? make_cuda_backend(1) : make_cpu_backend(1, 1);
    ParamStore ps;
    const int a = ps.add("a", Shape{129}, Init::normal(0, 1));
    const int c = ps.add("c", Shape{64}, Init::normal(0, 1));
    ps.allocate(*b);
    ps.initialize(9);
    Adam opt(*b, ps, cfg);
    for (int step = 0; step < 5; ++step) {
      for (int id : {a, c}) {
        std::vector<float> g(ps.entry(id).shape.numel());
        for (size_t i = 0; i < g.size(); ++i) g[i] = float(std::cos(0.7 * double(i) + step + id));
        b->upload(ps.grad(id).data, g.data(), g.size() * sizeof(float));
      }
      opt.set_used({a, c});
      opt.step();
    }
    for (int id : {a, c})
      for (float x : ps.get(id)) result[dev].push_back(x);
  }
  ASSERT_EQ(result[0].size(), result[1].size());
  for (size_t i = 0; i < result[0].size(); ++i)
    EXPECT_NEAR(result[1][i], result[0][i], 4e-7 * (1 + std::fabs(result[0][i]))) << i;
}

// One Adam step is one launch (the bias corrections derived once per block, the step counter advanced by
// the launch's last block), and replaying it as a graph gives the eager steps bit for bit, counter included.
TEST(AdamCuda, StepIsOneLaunchAndReplaysBitwise) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  std::vector<float> result[2];
  int64_t steps[2] = {0, 0};
  for (int graph = 0; graph < 2; ++graph) {
    auto b = make_cuda_backend(1);
    ParamStore ps;
    const int a = ps.add("a", Shape{70000}, Init::normal(0, 1));  // several blocks per segment
    const int c = ps.add("c", Shape{64}, Init::normal(0, 1));
    ps.allocate(*b);
    ps.initialize(9);
    Adam opt(*b, ps, AdamConfig::scvi());
    for (int id : {a, c}) {
      std::vector<float> g(ps.entry(id).shape.numel());
      for (size_t i = 0; i < g.size(); ++i) g[i] = float(std::cos(0.7 * double(i) + id));
      b->upload(ps.grad(id).data, g.data(), g.size() * sizeof(float));
    }
    opt.set_used({a, c});
    StepGraph sg;
    if (graph) {
      ASSERT_TRUE(sg.capture(*b, [&] {
        opt.step();
        return true;
      }));
      EXPECT_EQ(sg.n_nodes(), 1u) << "Adam without clipping should be one launch";
      EXPECT_EQ(b->read_scalars().step, 0);  // captured, not run
    }
    for (int k = 0; k < 7; ++k) {
      if (graph)
        sg.launch(*b);
      else
        opt.step();
    }
    steps[graph] = b->read_scalars().step;
    for (int id : {a, c})
      for (float x : ps.get(id)) result[graph].push_back(x);
  }
  EXPECT_EQ(steps[0], 7);
  EXPECT_EQ(steps[1], 7);
  ASSERT_EQ(result[0].size(), result[1].size());
  for (size_t i = 0; i < result[0].size(); ++i) ASSERT_EQ(result[0][i], result[1][i]) << i;
}

}  // namespace
}  // namespace cuvi
