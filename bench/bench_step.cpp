// Whole SCVI training steps (gather minibatch, forward, backward, Adam) at scVI shapes on CUDA (when a
// device is present; op by op or one replayed step graph, DESIGN.md decision 4) and on the CPU.
// Run: ./cuvi_bench --benchmark_filter=step/    (graph vs eager: --benchmark_filter='step/cuda')
#include <benchmark/benchmark.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <memory>
#include <utility>
#include <vector>

#include "engine/trainer.h"
#include "models/scvi/scvi_model.h"
#include "tools/workflow/simulate.h"

namespace cuvi {
namespace {

// Counts as scRNA-seq has them (the data simulator, tools/workflow/simulate.h): negative binomial per gene
// around cell-type profiles, library sizes log-normal around 1e4 UMIs (about 1e3..1e5), so the heavy genes
// of deep cells reach counts in the thousands and the likelihood's large-count paths are timed too.
struct SyntheticData {
  io::CsrMatrix counts;
  CellTable cells;
  int64_t max_count = 0;
  SyntheticData(int64_t n_cells, int64_t n_genes) {
    workflow::SimulationConfig c;
    c.n_cells = n_cells;
    c.n_genes = n_genes;
    c.library_median = 1e4;
    c.library_sd = 1.0;
    c.seed = 1;
    counts = workflow::simulate(c).counts;
    for (float v : counts.data) max_count = std::max<int64_t>(max_count, int64_t(v));
    for (int64_t i = 0; i < n_cells; ++i) {
      cells.batch.push_back(int32_t(i % 2));
      cells.labels.push_back(0);
      cells.codes.push_back(int32_t(i % 2));
    }
    cells.n_codes = 1;
  }
  CsrView view() const { return counts; }
};

// The matrices are the same for every variant of a shape: built once.
const SyntheticData& synthetic(int64_t cells, int64_t genes) {
  static std::map<std::pair<int64_t, int64_t>, std::unique_ptr<SyntheticData>> cache;
  auto& d = cache[{cells, genes}];
  if (!d) d = std::make_unique<SyntheticData>(cells, genes);
  return *d;
}

enum class Mode { Eager, Graph };

void train_steps(benchmark::State& state, bool cuda, Mode mode, bool sync_each_step, int64_t batch, int64_t genes,
                 int64_t hidden) {
  if (cuda && !cuda_device_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  auto backend = cuda ? make_cuda_backend(0) : make_cpu_backend(0);
  const int64_t n_cells = batch * 8;
  const SyntheticData& d = synthetic(n_cells, genes);
  models::ScviConfig cfg;
  cfg.n_genes = genes;
  cfg.n_batch = 2;
  cfg.n_hidden = hidden;
  models::ScviModel model(cfg);
  model.allocate(*backend, 0);
  DeviceDataset ds(*backend, d.view(), d.cells);
  const size_t bytes = plan_step_bytes(*backend, model, ds, batch, true);
  Arena arena(*backend, bytes + bytes / 8 + (1 << 20), "activation");
  Adam adam(*backend, model.params(), AdamConfig::scvi());
  std::vector<int32_t> rows(n_cells);
  for (int64_t i = 0; i < n_cells; ++i) rows[i] = int32_t(i);
  int64_t epoch = 0, b = 0, cells = 0;
  ds.begin_epoch(rows, true, 0, 0, batch);
  Tape tape(*backend, arena);
  // One step recorded on the tape: it runs, or is only recorded while the stream captures.
  auto record_step = [&] {
    tape.begin_step();
    const MiniBatch mb = ds.batch(b, arena);
    const StepTensors st = model.record(tape, mb, true);
    tape.backward(st.loss);
    adam.set_used(tape.params_with_grad());
    adam.step();
    return true;
  };
  // Warm-up (untimed): one eager step (cuBLAS and the kernels initialise), then on CUDA one capture,
  // which counts the step's launches; the graph variant keeps it and runs it.
  record_step();
  ++b;
  StepGraph graph;
  size_t launches = 0;
  if (cuda) {
    graph.capture(*backend, record_step);
    launches = graph.n_nodes();
    if (mode == Mode::Graph) {
      graph.launch(*backend);
      ++b;
    } else {
      ds.batch_discarded(b);  // the recorded gather never ran
      graph.reset();
    }
  }
  backend->synchronize();
  for (auto _ : state) {
    if (b == ds.n_batches()) {
      ds.begin_epoch(rows, true, 0, uint32_t(++epoch), batch);  // waits for the device (upload)
      b = 0;
    }
    if (mode == Mode::Graph) {
      graph.launch(*backend);
      ds.batch_replayed(b);
    } else {
      record_step();
    }
    ++b;
    if (sync_each_step) backend->synchronize();
    cells += batch;
  }
  backend->synchronize();
  state.counters["cells/s"] = benchmark::Counter(double(cells), benchmark::Counter::kIsRate);
  state.counters["nodes"] = double(tape.n_nodes());
  state.counters["max_count"] = double(d.max_count);
  if (cuda) state.counters["graph_nodes"] = double(launches);  // operations one step enqueues
}

// Batch 128 and 1024, genes 2000 and 20000, hidden 128 and 512. CUDA runs each shape four ways: op by op
// (cuda) or as one replayed step graph (cuda_graph), each either waiting for the device after every step
// (the latency of one step) or only at epoch starts as the trainer does (_pipelined: host launches overlap
// the device). Counters: cells/s, tape nodes, graph_nodes (the operations one step enqueues: the captured
// step graph's node count) and max_count (the largest count in the data).
int register_steps() {
  struct Variant {
    bool cuda;
    Mode mode;
    bool sync_each_step;
    const char* name;
  };
  const Variant variants[] = {{true, Mode::Eager, true, "cuda"},
                              {true, Mode::Graph, true, "cuda_graph"},
                              {true, Mode::Eager, false, "cuda_pipelined"},
                              {true, Mode::Graph, false, "cuda_graph_pipelined"},
                              {false, Mode::Eager, true, "cpu"}};
  // CUVI_BENCH_TINY=1: one small shape only (B 32, G 200, H 32), for running the harness on the CUDA
  // emulator (tools/scripts/gpu_check.sh with CUVI_GPU_CHECK_EMULATOR=1).
  const char* tiny_env = std::getenv("CUVI_BENCH_TINY");
  const bool tiny = tiny_env && std::string(tiny_env) == "1";
  const std::vector<int64_t> batches = tiny ? std::vector<int64_t>{32} : std::vector<int64_t>{128, 1024};
  const std::vector<int64_t> gene_counts = tiny ? std::vector<int64_t>{200} : std::vector<int64_t>{2000, 20000};
  const std::vector<int64_t> widths = tiny ? std::vector<int64_t>{32} : std::vector<int64_t>{128, 512};
  for (const Variant& v : variants)
    for (int64_t batch : batches)
      for (int64_t genes : gene_counts)
        for (int64_t hidden : widths) {
          if (!v.cuda && (batch > 128 || genes > 2000)) continue;  // the CPU path at the small shapes only
          const std::string name = std::string("step/") + v.name + "/scvi_N" + std::to_string(batch) + "_G" +
                                   std::to_string(genes) + "_H" + std::to_string(hidden);
          benchmark::RegisterBenchmark(name.c_str(), train_steps, v.cuda, v.mode, v.sync_each_step, batch, genes,
                                       hidden)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
  return 0;
}
const int kRegistered = register_steps();

}  // namespace
}  // namespace cuvi
