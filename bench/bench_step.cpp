// Whole SCVI training steps (gather minibatch, forward, backward, Adam) at scVI shapes on CUDA (when a
// device is present; op by op or one replayed step graph, DESIGN.md decision 4) and on the CPU.
// Run: ./cuvi_bench --benchmark_filter=step/    (graph vs eager: --benchmark_filter='step/cuda')
#include <benchmark/benchmark.h>

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "engine/trainer.h"
#include "kernels/common/philox.h"
#include "models/scvi/scvi_model.h"

namespace cuvi {
namespace {

// A synthetic CSR count matrix: ~20% non-zeros with small counts, 2 batches.
struct SyntheticData {
  std::vector<int64_t> indptr;
  std::vector<int32_t> indices;
  std::vector<float> data;
  CellTable cells;
  int64_t n_cells, n_genes;
  SyntheticData(int64_t cells, int64_t genes) : n_cells(cells), n_genes(genes) {
    indptr.push_back(0);
    for (int64_t i = 0; i < cells; ++i) {
      for (int64_t g = 0; g < genes; ++g) {
        const double u = philox_uniform(1, 0, 0, uint64_t(i * genes + g));
        if (u < 0.2) {
          indices.push_back(int32_t(g));
          data.push_back(float(1 + int(u * 40)));
        }
      }
      indptr.push_back(int64_t(data.size()));
      this->cells.batch.push_back(int32_t(i % 2));
      this->cells.labels.push_back(0);
      this->cells.codes.push_back(int32_t(i % 2));
    }
    this->cells.n_codes = 1;
  }
  CsrView view() const { return CsrView{indptr.data(), indices.data(), data.data(), n_cells, n_genes}; }
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
  if (cuda) state.counters["launches/step"] = double(launches);
}

// Batch 128 and 1024, genes 2000 and 20000, hidden 128 and 512. CUDA runs each shape four ways: op by op
// (cuda) or as one replayed step graph (cuda_graph), each either waiting for the device after every step
// (the latency of one step) or only at epoch starts as the trainer does (_pipelined: host launches overlap
// the device). Counters: cells/s, tape nodes, and launches/step (the operations one step enqueues).
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
  for (const Variant& v : variants)
    for (int64_t batch : {128, 1024})
      for (int64_t genes : {2000, 20000})
        for (int64_t hidden : {128, 512}) {
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
