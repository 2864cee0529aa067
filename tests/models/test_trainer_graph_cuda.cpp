// Trainer step graphs on the CUDA backend (label gpu): each step captured once per minibatch size and mode
// and replayed runs the same kernels in the same order as the op-by-op path, so histories and parameters
// agree bit for bit, with ragged last minibatches, validation between epochs, per-step KL weights,
// graphs invalidated when the optimizer's segment table changes, and a failed capture (op by op from then on).
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "engine/trainer.h"
#include "models/scvi/scvi_model.h"
#include "tests/models/synthetic_counts.h"

namespace cuvi {
namespace {

using test::synthetic_cells;
using Counts = test::SyntheticCounts;

// What a run leaves behind, on the host.
struct Outcome {
  std::map<std::string, std::vector<double>> history;
  std::vector<float> params, buffers;  // flat trainable parameters; every non-trained buffer in entry order
  StepScalars scalars;
  StepGraphStats graphs;
};

Outcome snapshot(Backend& b, ParamStore& ps, const TrainResult& r) {
  Outcome o;
  o.history = r.history;
  o.history.erase("seconds");  // wall-clock entries are the only ones allowed to differ
  o.history.erase("cells_per_second");
  o.params.resize(ps.n_trainable_floats());
  b.download(o.params.data(), ps.flat_params(), o.params.size() * sizeof(float));
  for (size_t id = 0; id < ps.entries().size(); ++id)
    if (!ps.entry(int(id)).trainable) {
      const std::vector<float> v = ps.get(int(id));
      o.buffers.insert(o.buffers.end(), v.begin(), v.end());
    }
  o.scalars = b.read_scalars();
  o.graphs = r.graphs;
  return o;
}

Outcome train_scvi(const Counts& c, TrainConfig tc, bool graphs) {
  auto b = make_cuda_backend(7);
  models::ScviConfig cfg;
  cfg.n_hidden = 16;
  cfg.n_latent = 4;
  cfg.n_batch = 2;
  cfg.dropout_rate = 0.1;
  cfg.n_genes = c.G;
  models::ScviModel model(cfg);
  model.allocate(*b, 7);
  const CellTable cells = synthetic_cells(model.module().layout(), c.R, cfg.n_batch);
  DeviceDataset ds(*b, c.view(), cells);
  tc.progress = false;
  tc.cuda_graph = graphs;
  Trainer trainer(*b, model, ds, tc);
  const TrainResult r = trainer.fit();
  return snapshot(*b, model.params(), r);
}

// Bitwise: the same kernels with the same arguments ran in the same order.
void expect_identical(const Outcome& eager, const Outcome& graph) {
  ASSERT_EQ(eager.history.size(), graph.history.size());
  for (const auto& [key, values] : eager.history) {
    ASSERT_TRUE(graph.history.count(key)) << key;
    const std::vector<double>& g = graph.history.at(key);
    ASSERT_EQ(values.size(), g.size()) << key;
    for (size_t e = 0; e < values.size(); ++e)
      EXPECT_EQ(std::memcmp(&values[e], &g[e], sizeof(double)), 0)
          << key << " epoch " << e << ": eager " << values[e] << ", graph " << g[e];
  }
  ASSERT_EQ(eager.params.size(), graph.params.size());
  for (size_t k = 0; k < eager.params.size(); ++k)
    ASSERT_EQ(std::memcmp(&eager.params[k], &graph.params[k], sizeof(float)), 0)
        << "parameter " << k << ": eager " << eager.params[k] << ", graph " << graph.params[k];
  ASSERT_EQ(eager.buffers.size(), graph.buffers.size());
  for (size_t k = 0; k < eager.buffers.size(); ++k)
    ASSERT_EQ(std::memcmp(&eager.buffers[k], &graph.buffers[k], sizeof(float)), 0) << "buffer element " << k;
  EXPECT_EQ(eager.scalars.step, graph.scalars.step);
  EXPECT_EQ(eager.scalars.kl_weight, graph.scalars.kl_weight);
}

class TrainerGraphCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  }
};

// 100 cells at batch 32: 90 train cells in minibatches of 32, 32 and a ragged 26; 10 validation cells in
// one minibatch, evaluated after every epoch. Each of the three shapes runs one warm-up step eagerly, is
// captured at its next step, and replays from then on.
TEST_F(TrainerGraphCuda, EpochsWithRaggedBatchesAndValidationMatchEagerBitwise) {
  const Counts c(100, 40);
  TrainConfig tc;
  tc.max_epochs = 4;
  tc.batch_size = 32;
  tc.seed = 5;
  tc.n_epochs_kl_warmup = 2;
  const Outcome eager = train_scvi(c, tc, false);
  const Outcome graph = train_scvi(c, tc, true);
  expect_identical(eager, graph);
  ASSERT_EQ(eager.history.at("elbo_validation").size(), 4u);
  EXPECT_EQ(eager.graphs.captured, 0);
  EXPECT_EQ(eager.graphs.eager, 16);  // 4 epochs x (3 training + 1 validation) steps
  EXPECT_EQ(graph.graphs.captured, 3);
  EXPECT_EQ(graph.graphs.eager, 3);
  EXPECT_EQ(graph.graphs.replayed, 13);
  EXPECT_EQ(graph.graphs.invalidated, 0);
  EXPECT_EQ(graph.graphs.discarded, 0);
  EXPECT_GT(graph.graphs.nodes, 8u);  // the whole step was captured (a default step's budget is 20 nodes)
  EXPECT_EQ(graph.scalars.step, 12);
  std::printf("[          ] one SCVI training step (n_hidden 16, 40 genes): %zu graph nodes\n", graph.graphs.nodes);
}

// A KL weight set by the host before every step (n_steps_kl_warmup) reaches replayed steps through the
// device scalars; full minibatches only, no validation cells.
TEST_F(TrainerGraphCuda, PerStepKlWarmupAndWholeBatchesMatchEagerBitwise) {
  const Counts c(64, 24);
  TrainConfig tc;
  tc.max_epochs = 3;
  tc.batch_size = 16;
  tc.train_size = 1.0;
  tc.seed = 11;
  tc.n_epochs_kl_warmup = 0;
  tc.n_steps_kl_warmup = 7;
  const Outcome eager = train_scvi(c, tc, false);
  const Outcome graph = train_scvi(c, tc, true);
  expect_identical(eager, graph);
  EXPECT_EQ(graph.history.count("elbo_validation"), 0u);
  EXPECT_EQ(graph.graphs.captured, 1);
  EXPECT_EQ(graph.graphs.eager, 1);
  EXPECT_EQ(graph.graphs.replayed, 11);
  EXPECT_EQ(graph.scalars.step, 12);
}

// Early stopping reads validation after each epoch and restores the best weights: same epochs, same weights.
TEST_F(TrainerGraphCuda, EarlyStoppingMatchesEagerBitwise) {
  const Counts c(90, 30);
  TrainConfig tc;
  tc.max_epochs = 6;
  tc.batch_size = 24;
  tc.seed = 3;
  tc.early_stopping = true;
  tc.early_stopping_patience = 2;
  tc.optimizer.lr = 3e-2;  // large steps, so that the validation ELBO moves both ways
  const Outcome eager = train_scvi(c, tc, false);
  const Outcome graph = train_scvi(c, tc, true);
  expect_identical(eager, graph);
  EXPECT_GT(graph.graphs.replayed, 0);
}

// A model whose parameters with gradients depend on the minibatch size: full minibatches train `w_full`,
// the ragged one `w_ragged`. Each switch gives the optimizer a new segment table, which invalidates the
// other shape's graph and makes its next capture mismatch (discarded, run eagerly).
class ShapeDependentModel : public TrainableModel {
 public:
  ShapeDependentModel(Backend& b, int64_t genes, int64_t full_n) : m_full_n(full_n) {
    m_w_full = m_ps.add("w_full", Shape{4, genes}, Init::torch_linear(genes));
    m_w_ragged = m_ps.add("w_ragged", Shape{4, genes}, Init::torch_linear(genes));
    m_bias = m_ps.add("bias", Shape{4}, Init::torch_linear(genes));
    m_ps.allocate(b);
    m_ps.initialize(21);
  }
  ParamStore& params() override { return m_ps; }
  std::vector<std::string> metric_names() const override { return {"softplus_sum", "", ""}; }
  StepTensors record(Tape& tape, const MiniBatch& mb, bool) override {
    const int w = mb.n == m_full_n ? m_w_full : m_w_ragged;
    const TensorId x = tape.apply1("log1p", {tape.input(mb.x)});
    const TensorId h = tape.apply1("linear", {x, param(tape, w), param(tape, m_bias), kNoTensor});
    StepTensors st;
    st.metrics[0] = tape.apply1("sum_rows", {tape.apply1("softplus", {h})});
    st.loss = tape.apply1("mean_all", {st.metrics[0]});
    return st;
  }

 private:
  TensorId param(Tape& tape, int id) { return tape.param(m_ps.value(id), m_ps.grad(id), id); }
  ParamStore m_ps;
  int64_t m_full_n;
  int m_w_full = -1, m_w_ragged = -1, m_bias = -1;
};

// Trains a small test model (constructed from the backend, the gene count and the full minibatch size).
template <class Model>
Outcome train_small(const Counts& c, TrainConfig tc, bool graphs) {
  auto b = make_cuda_backend(9);
  Model model(*b, c.G, tc.batch_size);
  CellTable cells;
  cells.batch.assign(c.R, 0);
  cells.labels.assign(c.R, 0);
  DeviceDataset ds(*b, c.view(), cells);
  tc.progress = false;
  tc.cuda_graph = graphs;
  Trainer trainer(*b, model, ds, tc);
  const TrainResult r = trainer.fit();
  return snapshot(*b, model.params(), r);
}

TEST_F(TrainerGraphCuda, ChangedParameterSetsInvalidateGraphsAndStillMatchEager) {
  const Counts c(50, 12);
  TrainConfig tc;
  tc.max_epochs = 5;
  tc.batch_size = 16;
  tc.train_size = 1.0;  // 50 cells: 16, 16, 16 and a ragged 2
  tc.seed = 2;
  tc.n_epochs_kl_warmup = 0;
  const Outcome eager = train_small<ShapeDependentModel>(c, tc, false);
  const Outcome graph = train_small<ShapeDependentModel>(c, tc, true);
  expect_identical(eager, graph);
  EXPECT_GT(graph.graphs.invalidated, 0);
  EXPECT_GT(graph.graphs.discarded, 0);
  EXPECT_GT(graph.graphs.replayed, 0);
  EXPECT_EQ(graph.graphs.eager + graph.graphs.replayed, 5 * 4);
}

// A model that reads the step scalars back to the host inside its step: a synchronisation, which a
// capture forbids. The capture fails, the trainer records why and runs every remaining step op by op,
// so the run ends as an op-by-op run does.
class HostSyncingModel : public ShapeDependentModel {
 public:
  HostSyncingModel(Backend& b, int64_t genes, int64_t full_n) : ShapeDependentModel(b, genes, full_n), m_b(b) {}
  StepTensors record(Tape& tape, const MiniBatch& mb, bool training) override {
    m_b.read_scalars();
    return ShapeDependentModel::record(tape, mb, training);
  }

 private:
  Backend& m_b;
};

// On the CUDA emulator (tools/cuda_emu) the forbidden copy is reported as a fault unless expected.
struct ExpectedCudaFaults {
  ExpectedCudaFaults() { set(1); }
  ~ExpectedCudaFaults() { set(0); }
  static void set(int on) {
#ifdef CUVI_CUDA_EMULATOR
    emu_expect_faults(on);
#else
    (void)on;
#endif
  }
};

TEST_F(TrainerGraphCuda, FailedCaptureFallsBackToOpByOpWithTheSameResults) {
  const Counts c(48, 10);
  TrainConfig tc;
  tc.max_epochs = 3;
  tc.batch_size = 16;
  tc.train_size = 1.0;
  tc.seed = 4;
  tc.n_epochs_kl_warmup = 0;
  const Outcome eager = train_small<HostSyncingModel>(c, tc, false);
  Outcome graph;
  {
    ExpectedCudaFaults expected;
    graph = train_small<HostSyncingModel>(c, tc, true);
  }
  expect_identical(eager, graph);
  EXPECT_TRUE(eager.graphs.disabled_reason.empty());
  EXPECT_FALSE(graph.graphs.disabled_reason.empty());
  EXPECT_EQ(graph.graphs.captured, 0);
  EXPECT_EQ(graph.graphs.replayed, 0);
  EXPECT_EQ(graph.graphs.eager, 3 * 3);
  std::printf("[          ] capture failure reported as: %s\n", graph.graphs.disabled_reason.c_str());
}

// The loader's cursor: minibatches in order only, and a replayed gather moves the host record along.
TEST_F(TrainerGraphCuda, LoaderCursorRequiresOrderAndFollowsReplays) {
  const Counts c(40, 8);
  auto b = make_cuda_backend(1);
  CellTable cells;
  cells.batch.assign(c.R, 0);
  cells.labels.assign(c.R, 0);
  DeviceDataset ds(*b, c.view(), cells);
  std::vector<int32_t> rows(c.R);
  for (int64_t i = 0; i < c.R; ++i) rows[i] = int32_t(c.R - 1 - i);
  ds.begin_epoch(rows, false, 0, 0, 16);
  Arena arena(*b, 1 << 20, "test");
  EXPECT_THROW(ds.batch(1, arena), Error);
  const MiniBatch first = ds.batch(0, arena);
  std::vector<int32_t> got(first.n);
  b->download(got.data(), first.rows.data, got.size() * sizeof(int32_t));
  EXPECT_EQ(got, std::vector<int32_t>(rows.begin(), rows.begin() + 16));
  EXPECT_EQ(b->read_scalars().batch_start, 16);
  EXPECT_THROW(ds.batch_replayed(2), Error);
  ds.batch_discarded(0);  // as if the gather above had been recorded by a capture that was thrown away
  StepScalars s = b->read_scalars();
  s.batch_start = 0;
  b->write_scalars(s);
  arena.reset();
  const MiniBatch again = ds.batch(0, arena);
  b->download(got.data(), again.rows.data, got.size() * sizeof(int32_t));
  EXPECT_EQ(got, std::vector<int32_t>(rows.begin(), rows.begin() + 16));
  ds.begin_epoch(rows, false, 0, 1, 16);
  EXPECT_EQ(b->read_scalars().batch_start, 0);
}

}  // namespace
}  // namespace cuvi
