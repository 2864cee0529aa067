// MULTIVI training throughput at wide ATAC (scvi-multivi.md §2; issue: 25k, 100k, 200k peaks): the
// simulator's multiome data (2000 genes, peaks kept sparse, two batches), scvi-tools' default sizes
// (n_hidden 128, n_latent 11, adversarial classifier on), whole adversarial training steps through
// the device loader (CSR upload, densify per minibatch): gather, forward, backward, AdamW + Adam.
// Run: ./cuvi_bench --benchmark_filter=multivi/    (CPU always, one thread, rates per CPU second; CUDA
// when a device is present, rates per wall second)
#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "engine/optimizer_set.h"
#include "models/multivi/multivi_model.h"
#include "tools/workflow/multiome_data.h"
#include "tools/workflow/simulate.h"

namespace cuvi {
namespace {

constexpr int64_t kCells = 1024, kGenes = 2000;

struct MultiomeBenchData {
  io::CsrMatrix counts;  // (cells, genes + peaks)
  CellTable cells;
  int64_t peaks = 0;
  double density = 0;  // of the peaks
};

const MultiomeBenchData& data_for(int64_t peaks) {
  static std::map<int64_t, std::unique_ptr<MultiomeBenchData>> cache;
  auto& d = cache[peaks];
  if (d) return *d;
  workflow::SimulationConfig c;
  c.n_cells = kCells;
  c.n_genes = kGenes;
  c.n_peaks = peaks;
  c.n_batches = 2;
  const workflow::SimulatedData sim = workflow::simulate(c);
  d = std::make_unique<MultiomeBenchData>();
  d->counts = workflow::hstack(sim.counts, sim.atac);
  d->peaks = peaks;
  d->density = double(sim.atac.nnz()) / double(kCells * peaks);
  const io::Column& batch = *sim.obs.find("batch");
  for (int64_t i = 0; i < kCells; ++i) {
    const int32_t b = batch.kind == io::ColumnKind::Categorical ? batch.cat.codes[size_t(i)] : int32_t(i % 2);
    d->cells.batch.push_back(b);
    d->cells.labels.push_back(0);
    d->cells.codes.push_back(b);  // one-hot offset of the batch (the only covariate)
  }
  d->cells.n_codes = 1;
  return *d;
}

void multivi_steps(benchmark::State& state, bool cuda, int64_t peaks, int64_t batch) {
  if (cuda && !cuda_device_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const MultiomeBenchData& d = data_for(peaks);
  // One CPU thread: the benchmark thread's CPU time is then the step's whole CPU cost, which a machine
  // shared with other work distorts less than wall time (the rate counters use it on the CPU).
  auto backend = cuda ? make_cuda_backend(0) : make_cpu_backend(0, 1);
  models::MultiviConfig cfg;
  cfg.n_genes = kGenes;
  cfg.n_regions = peaks;
  cfg.n_batch = 2;
  cfg.n_obs = kCells;
  cfg.resolve();
  models::MultiviModel model(cfg);
  model.allocate(*backend, 0);
  const io::CsrMatrix& m = d.counts;
  DeviceDataset ds(*backend, CsrView{m.indptr.data(), m.indices.data(), m.data.data(), m.n_rows, m.n_cols}, d.cells);
  const size_t bytes = plan_step_bytes(*backend, model, ds, batch, true);
  Arena arena(*backend, bytes + bytes / 8 + (1 << 20), "activation");
  OptimizerSet opt(*backend, model.params(), AdamConfig::multivi(), model.extra_optimizers());
  std::vector<int32_t> rows(kCells);
  for (int64_t i = 0; i < kCells; ++i) rows[i] = int32_t(i);
  int64_t epoch = 0, b = 0, cells = 0;
  ds.begin_epoch(rows, true, 0, 0, batch);
  Tape tape(*backend, arena);
  auto step = [&] {
    tape.begin_step();
    const MiniBatch mb = ds.batch(b++, arena);
    const StepTensors st = model.record(tape, mb, true);
    tape.backward(st.objective);
    opt.step(tape.params_with_grad());
  };
  step();  // warm-up (untimed)
  backend->synchronize();
  for (auto _ : state) {
    if (b == ds.n_batches()) {
      ds.begin_epoch(rows, true, 0, uint32_t(++epoch), batch);
      b = 0;
    }
    step();
    backend->synchronize();
    cells += batch;
  }
  state.counters["cells/s"] = benchmark::Counter(double(cells), benchmark::Counter::kIsRate);
  state.counters["peak_density"] = d.density;
  state.counters["n_hidden"] = double(cfg.n_hidden);
  state.counters["params_M"] = double(model.params().n_trainable_floats()) / 1e6;
}

int register_multivi() {
  for (bool cuda : {false, true})
    for (int64_t peaks : {25000, 100000, 200000}) {
      const std::string name =
          std::string("multivi/") + (cuda ? "cuda" : "cpu") + "/G2000_R" + std::to_string(peaks) + "_N128";
      auto* b = benchmark::RegisterBenchmark(name.c_str(), multivi_steps, cuda, peaks, int64_t(128));
      b->Unit(benchmark::kMillisecond)->MinTime(cuda ? 0.5 : 5.0);
      if (cuda) b->UseRealTime();
    }
  return 0;
}
const int kRegistered = register_multivi();

}  // namespace
}  // namespace cuvi
