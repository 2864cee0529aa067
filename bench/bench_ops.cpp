// Op benchmarks walking the registry: every op x bench shape on CUDA (when a device is present) and on
// the CPU reference. Reports time per call, GB/s and GFLOP/s from the op's own byte and FLOP counts.
// Run: ./cuvi_bench [--benchmark_filter=cuda/] ; CPU entries are named cpu/<op>/<shape>.
#include <benchmark/benchmark.h>

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/backend.h"
#include "engine/registry.h"
#include "kernels/common/philox.h"

namespace cuvi {
namespace {

// Inputs, outputs and gradient buffers of one op call, filled once on the backend.
struct Prepared {
  std::vector<DeviceBuffer> bufs;
  Tensor in[kMaxOpInputs], out[kMaxOpOutputs], aux[kMaxOpAux], d_out[kMaxOpOutputs], d_in[kMaxOpInputs];
  bool acc[kMaxOpInputs] = {};
  OpIO io;
};

std::unique_ptr<Prepared> prepare(Backend& b, const OpDef& op, const TestCase& tc) {
  auto p = std::make_unique<Prepared>();
  const Device dev = b.device();
  auto make = [&](const Shape& s, DType t, const GenSpec* g) {
    const size_t n = size_t(s.numel());
    p->bufs.emplace_back(b, std::max<size_t>(n * dtype_size(t), 4));
    std::vector<unsigned char> host(n * dtype_size(t), 0);
    for (size_t k = 0; k < n && g; ++k) {
      const double u = philox_uniform(11, 0, 0, k);
      if (t == DType::I32) {
        const int32_t v = int32_t(u * g->a);
        std::memcpy(&host[k * 4], &v, 4);
      } else if (t == DType::I64) {
        const int64_t v = int64_t(k);
        std::memcpy(&host[k * 8], &v, 8);
      } else {
        double x = g->a + (g->b - g->a) * u;
        if (g->kind == Gen::LogUniform) x = std::exp(std::log(g->a) + (std::log(g->b) - std::log(g->a)) * u);
        // Counts like a sparse scRNA-seq matrix: 60% zeros, the rest log-uniform up to b.
        if (g->kind == Gen::Counts)
          x = u < 0.6 ? 0 : std::floor(std::exp(philox_uniform(11, 0, 1, k) * std::log(g->b + 1)));
        if (g->kind == Gen::Codes) x = std::floor(u * g->a);
        const float f = float(x);
        std::memcpy(&host[k * 4], &f, 4);
      }
    }
    if (!host.empty()) b.upload(p->bufs.back().data(), host.data(), host.size());
    return Tensor(p->bufs.back().data(), t, dev, s);
  };
  for (int i = 0; i < op.n_in; ++i) {
    const GenSpec& g = tc.gens[i];
    if (g.kind == Gen::Absent) continue;
    p->in[i] = make(tc.shapes[i], g.kind == Gen::Codes ? DType::I32 : DType::F32, &g);
  }
  const OpShapes s = infer_shapes(op, p->in, tc.p);
  for (int j = 0; j < op.n_out; ++j) {
    p->out[j] = make(s.out[j].shape, s.out[j].dtype, nullptr);
    p->d_out[j] = make(s.out[j].shape, s.out[j].dtype, nullptr);
  }
  for (int j = 0; j < op.n_aux; ++j) p->aux[j] = make(s.aux[j].shape, s.aux[j].dtype, nullptr);
  for (int i = 0; i < op.n_in; ++i)
    if (((op.diff_inputs >> i) & 1u) && p->in[i].defined()) p->d_in[i] = make(p->in[i].shape, DType::F32, nullptr);
  OpIO& io = p->io;
  io.in = p->in;
  io.n_in = op.n_in;
  io.out = p->out;
  io.n_out = op.n_out;
  io.aux = p->aux;
  io.n_aux = op.n_aux;
  io.d_out = p->d_out;
  io.d_in = p->d_in;
  io.accumulate = p->acc;
  io.p = &tc.p;
  io.ctx = &b.ctx();
  return p;
}

void run(benchmark::State& state, Backend* b, const OpDef* op, TestCase tc, bool backward) {
  auto p = prepare(*b, *op, tc);
  run_forward(*op, p->io);  // warm-up, and backward needs forward's aux
  b->synchronize();
  const bool cuda = b->device() == Device::CUDA;
  cudaEvent_t start = nullptr, stop = nullptr;
  if (cuda) {
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
  }
  for (auto _ : state) {
    if (cuda) cudaEventRecord(start, static_cast<cudaStream_t>(b->ctx().stream));
    if (backward)
      run_backward(*op, p->io);
    else
      run_forward(*op, p->io);
    if (cuda) {
      cudaEventRecord(stop, static_cast<cudaStream_t>(b->ctx().stream));
      cudaEventSynchronize(stop);
      float ms = 0;
      cudaEventElapsedTime(&ms, start, stop);
      state.SetIterationTime(ms / 1e3);
    }
  }
  if (cuda) {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  const double mult = backward ? 2.0 : 1.0;  // backward: about twice the forward work
  state.counters["GB/s"] = benchmark::Counter(mult * op->bytes(p->in, tc.p) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(mult * op->flops(p->in, tc.p) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

Backend* cuda_backend() {
  static std::unique_ptr<Backend> b = cuda_device_available() ? make_cuda_backend(5) : nullptr;
  return b.get();
}
Backend* cpu_backend() {
  static std::unique_ptr<Backend> b = make_cpu_backend(5);
  return b.get();
}

int register_all() {
  for (const OpDef* op : registry().all()) {
    if (!op->bench_cases) continue;
    for (const TestCase& tc : op->bench_cases()) {
      for (int bw = 0; bw < 2; ++bw) {
        if (bw && (!op->grad_check || !op->cuda_bwd)) continue;
        const std::string dir = bw ? "/backward" : "/forward";
        if (Backend* cb = cuda_backend())
          benchmark::RegisterBenchmark(("cuda/" + op->name + "/" + tc.label + dir).c_str(), run, cb, op, tc, bw == 1)
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("cpu/" + op->name + "/" + tc.label + dir).c_str(), run, cpu_backend(), op, tc,
                                     bw == 1)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace cuvi

int main(int argc, char** argv) {
  cuvi::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::fprintf(stderr, "cuda device: %s\n", cuvi::cuda_backend() ? cuvi::cuda_backend()->describe().c_str() : "none");
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
