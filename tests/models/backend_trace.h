// CPU-vs-CUDA comparison of a model's training steps (label gpu tests): the same minibatch and Philox
// draws on both backends; losses per step, first-step gradients and final parameters recorded and
// compared within f32 rounding (the tolerances are argued at compare_traces / compare_histories).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/arena.h"
#include "engine/optimizer.h"
#include "engine/trainer.h"

namespace cuvi::test {

struct Trace {
  std::vector<double> losses;  // per step
  std::vector<float> grads;    // flat parameter gradients of the first step
  std::vector<float> params;   // flat parameters after the last step
};

// `steps` optimizer steps on one minibatch, recorded exactly as the trainer does.
inline Trace record_steps(Backend& b, TrainableModel& model, const MiniBatch& mb, const AdamConfig& adam, int steps,
                          double kl_weight) {
  Arena arena(b, 64 << 20, "test");
  Adam opt(b, model.params(), adam);
  StepScalars s = b.read_scalars();
  s.kl_weight = kl_weight;
  b.write_scalars(s);
  Tape tape(b, arena);
  Trace t;
  ParamStore& ps = model.params();
  for (int step = 0; step < steps; ++step) {
    tape.begin_step();
    const StepTensors st = model.record(tape, mb, true);
    float loss = 0;
    b.download(&loss, tape.value(st.loss).data, sizeof loss);
    t.losses.push_back(loss);
    tape.backward(st.loss);
    if (step == 0) {
      t.grads.resize(ps.n_trainable_floats());
      b.download(t.grads.data(), ps.flat_grads(), t.grads.size() * sizeof(float));
    }
    opt.set_used(tape.params_with_grad());
    opt.step();
  }
  t.params.resize(ps.n_trainable_floats());
  b.download(t.params.data(), ps.flat_params(), t.params.size() * sizeof(float));
  EXPECT_EQ(b.read_scalars().step, steps);
  return t;
}

// Losses: the first step differs only by f32 summation order (CUDA tree reductions, cuBLAS vs the
// double-accumulating reference), ~1e-6 relative; each later step adds the parameter differences of
// one Adam update, so 1e-4 relative bounds them. Gradients: per parameter tensor, relative to its
// largest entry, the f32 accumulation error of a reduction over the minibatch and features (~1e-4); the
// second term covers tensors whose exact gradient vanishes (a bias followed by training BatchNorm, an
// attention key bias), where both backends hold rounding noise of sums that cancel.
inline void compare_traces(const Trace& a, const Trace& b, const ParamStore& layout) {
  ASSERT_EQ(a.losses.size(), b.losses.size());
  for (size_t step = 0; step < a.losses.size(); ++step) {
    const double tol = (step == 0 ? 1e-5 : 1e-4) * std::fabs(a.losses[step]);
    EXPECT_NEAR(b.losses[step], a.losses[step], tol) << "loss of step " << step;
  }
  ASSERT_EQ(a.grads.size(), b.grads.size());
  double global = 0;
  for (float g : a.grads) global = std::max(global, double(std::fabs(g)));
  for (const ParamEntry& e : layout.entries()) {
    if (!e.trainable) continue;
    const int64_t n = e.shape.numel();
    double scale = 0;
    for (int64_t k = 0; k < n; ++k) scale = std::max(scale, double(std::fabs(a.grads[e.offset + k])));
    for (int64_t k = 0; k < n; ++k) {
      ASSERT_TRUE(std::isfinite(b.grads[e.offset + k])) << e.name << "[" << k << "]";
      EXPECT_NEAR(b.grads[e.offset + k], a.grads[e.offset + k], 1e-4 * scale + 1e-6 * global)
          << "gradient of " << e.name << "[" << k << "] (largest gradient " << global << ")";
    }
  }
  for (size_t k = 0; k < a.params.size(); ++k) ASSERT_TRUE(std::isfinite(b.params[k])) << "parameter " << k;
}

// Trainer histories: per-epoch means move apart by the parameter differences of the Adam updates so
// far, which 1e-4 relative bounds for a few short epochs.
inline void compare_histories(const std::map<std::string, std::vector<double>>& cpu,
                              const std::map<std::string, std::vector<double>>& gpu) {
  for (const char* key : {"train_loss_epoch", "elbo_train", "reconstruction_loss_train", "kl_local_train",
                          "elbo_validation", "validation_loss"}) {
    ASSERT_TRUE(cpu.count(key) && gpu.count(key)) << key;
    const auto& a = cpu.at(key);
    const auto& c = gpu.at(key);
    ASSERT_EQ(a.size(), c.size()) << key;
    for (size_t e = 0; e < a.size(); ++e) EXPECT_NEAR(c[e], a[e], 1e-4 * std::fabs(a[e])) << key << " epoch " << e;
  }
}

}  // namespace cuvi::test
