// The default SCVI training step (G 2000, H 128, L 10, B 128, ZINB, one batch) captured as one CUDA graph (label
// gpu: the CUDA emulator here, a real device where there is one): its node count is the launch budget of a step
// (DESIGN.md decisions 2 and 4; issue 13 asks for at most 20 nodes).
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/trainer.h"
#include "models/scvi/scvi_model.h"
#include "tests/models/synthetic_counts.h"

namespace cuvi {
namespace {

// Issue 13's budget: at most 20 nodes per default step (76 before the fused ops). The step now is exactly 20: gather;
// encoder SGEMM + fused FC epilogue; normal_latent; the decoder's FC (latent product inside the epilogue); the two
// heads' batched SGEMM; px_log_prob (heads' biases inside); elbo_mean; the metric sums; and back: elbo_mean,
// px_log_prob, heads dW (batched) and dx (two SGEMMs), FC, latent dx SGEMM, normal_latent, FC, encoder dW SGEMM; Adam.
// CUVI_EMU_PRINT_GRAPH=1 lists the nodes on the emulator.
constexpr size_t kMaxStepNodes = 20;

TEST(ScviStepGraphCuda, DefaultStepFitsTheNodeBudget) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const test::SyntheticCounts c(3 * 128, 2000);
  auto b = make_cuda_backend(7);
  models::ScviConfig cfg;  // scvi-tools' defaults: 128 hidden, 10 latent, 1 layer, ZINB, gene dispersion
  cfg.n_genes = c.G;
  models::ScviModel model(cfg);
  model.allocate(*b, 7);
  const CellTable cells = test::synthetic_cells(model.module().layout(), c.R, cfg.n_batch);
  DeviceDataset ds(*b, c.view(), cells);
  TrainConfig tc;
  tc.max_epochs = 1;
  tc.batch_size = 128;
  tc.train_size = 1.0;
  tc.seed = 3;
  tc.progress = false;
  Trainer trainer(*b, model, ds, tc);
  const TrainResult r = trainer.fit();
  ASSERT_EQ(r.graphs.captured, 1) << r.graphs.disabled_reason;  // step 1 eager (warm-up), step 2 captured
  EXPECT_EQ(r.graphs.replayed, 2);
  std::printf("[          ] default SCVI training step (G 2000, H 128, L 10, B 128, ZINB): %zu graph nodes "
              "(budget %zu)\n", r.graphs.nodes, kMaxStepNodes);
  EXPECT_LE(r.graphs.nodes, kMaxStepNodes);
}

}  // namespace
}  // namespace cuvi
