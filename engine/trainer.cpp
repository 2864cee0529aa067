// Trainer implementation: one tape per minibatch in a planned arena (on CUDA captured once per minibatch
// size and mode and replayed as a graph), metrics accumulated on the device and read once per epoch,
// validation in eval mode, early stopping with a host snapshot.
#include "engine/trainer.h"

#ifndef CUVI_CPU_ONLY
#include <cuda_runtime_api.h>
#endif
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "kernels/cpu/gather.h"

namespace cuvi {
namespace {

constexpr uint32_t kSplitStream = 0x53504c54u;  // Philox stream of the train/validation split
constexpr int kMaxDiscards = 2;                  // discarded captures before a shape stays eager

#ifndef CUVI_CPU_ONLY
void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}
cudaStream_t stream_of(Backend& backend) { return static_cast<cudaStream_t>(backend.ctx().stream); }
#endif

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Host copy of every parameter and buffer (BatchNorm running statistics), taken after an epoch and put
// back to undo what later steps changed (early stopping's best epoch, an epoch cut short).
class WeightSnapshot {
 public:
  void take(Backend& backend, ParamStore& ps) {
    m_flat.resize(ps.n_trainable_floats());
    backend.download(m_flat.data(), ps.flat_params(), m_flat.size() * sizeof(float));
    m_buffers.clear();
    for (size_t id = 0; id < ps.entries().size(); ++id)
      if (!ps.entry(id).trainable) {
        const auto v = ps.get(int(id));
        m_buffers.insert(m_buffers.end(), v.begin(), v.end());
      }
  }
  void restore(Backend& backend, ParamStore& ps) const {
    backend.upload(ps.flat_params(), m_flat.data(), m_flat.size() * sizeof(float));
    size_t off = 0;
    for (size_t id = 0; id < ps.entries().size(); ++id)
      if (!ps.entry(id).trainable) {
        const int64_t len = ps.entry(id).shape.numel();
        ps.set(int(id), std::vector<float>(m_buffers.begin() + off, m_buffers.begin() + off + len));
        off += len;
      }
  }
  bool empty() const { return m_flat.empty(); }

 private:
  std::vector<float> m_flat, m_buffers;
};

// Python's round(): half to even.
int64_t round_half_even(double x) {
  const double f = std::floor(x);
  const double d = x - f;
  if (d > 0.5) return int64_t(f) + 1;
  if (d < 0.5) return int64_t(f);
  return (int64_t(f) % 2 == 0) ? int64_t(f) : int64_t(f) + 1;
}

std::string clock_string(double s) {
  const int64_t t = int64_t(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t / 60 % 60),
                  (long long)(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(t / 60), (long long)(t % 60));
  return buf;
}

}  // namespace

DataSplit split_data(int64_t n, double train_size, int64_t batch_size, uint64_t seed) {
  const bool given = train_size > 0;
  const double ts = given ? train_size : 0.9;
  CUVI_CHECK(ts > 0 && ts <= 1, "train_size must be in (0, 1]");
  int64_t n_train = int64_t(std::ceil(ts * double(n)));
  int64_t n_val = n - n_train;
  CUVI_CHECK(n_train > 0, "no cells left for training (" + std::to_string(n) + " cells)");
  int64_t n_test = 0;
  if (!given && batch_size > 0) {
    const int64_t rem = n_train % batch_size;
    if (rem == 1 || rem == 2) {
      // A last minibatch of 1-2 cells breaks BatchNorm: move those cells out of training.
      n_train -= rem;
      if (n_val > 0)
        n_val += rem;
      else
        n_test += rem;
    }
  }
  std::vector<int32_t> order(n);
  cpu::philox_permutation(seed, 0xffffffffu, kSplitStream, n, order.data());
  DataSplit s;
  s.validation.assign(order.begin(), order.begin() + n_val);
  s.train.assign(order.begin() + n_val, order.begin() + n_val + n_train);
  s.test.assign(order.begin() + n_val + n_train, order.end());
  return s;
}

DataSplit split_with_validation(int64_t n, const std::vector<int32_t>& validation_cells) {
  std::vector<uint8_t> is_val(size_t(n), 0);
  for (int32_t c : validation_cells) {
    CUVI_CHECK(c >= 0 && c < n, "validation cell " + std::to_string(c) + " is out of range (" + std::to_string(n) +
                                    " cells)");
    CUVI_CHECK(!is_val[size_t(c)], "validation cell " + std::to_string(c) + " is listed twice");
    is_val[size_t(c)] = 1;
  }
  DataSplit s;
  s.validation = validation_cells;
  for (int64_t i = 0; i < n; ++i)
    if (!is_val[size_t(i)]) s.train.push_back(int32_t(i));
  CUVI_CHECK(!s.train.empty(), "every cell is a validation cell; none is left for training");
  return s;
}

int64_t default_max_epochs(int64_t n_cells) {
  const int64_t e = std::min<int64_t>(round_half_even(20000.0 / double(n_cells) * 400.0), 400);
  return std::max<int64_t>(e, 1);
}

double kl_weight_for(const TrainConfig& c, int64_t epoch, int64_t global_step) {
  CUVI_CHECK(c.min_kl_weight <= c.max_kl_weight, "min_kl_weight must not exceed max_kl_weight");
  const double slope = c.max_kl_weight - c.min_kl_weight;
  if (c.n_epochs_kl_warmup > 0) {
    if (epoch < c.n_epochs_kl_warmup) return slope * (double(epoch) / double(c.n_epochs_kl_warmup)) + c.min_kl_weight;
    return c.max_kl_weight;
  }
  if (c.n_steps_kl_warmup > 0) {
    if (global_step < c.n_steps_kl_warmup)
      return slope * (double(global_step) / double(c.n_steps_kl_warmup)) + c.min_kl_weight;
    return c.max_kl_weight;
  }
  return c.max_kl_weight;
}

StepGraph::StepGraph(StepGraph&& o) noexcept : m_exec(o.m_exec), m_nodes(o.m_nodes) {
  o.m_exec = nullptr;
  o.m_nodes = 0;
}

StepGraph& StepGraph::operator=(StepGraph&& o) noexcept {
  if (this != &o) {
    reset();
    m_exec = o.m_exec;
    m_nodes = o.m_nodes;
    o.m_exec = nullptr;
    o.m_nodes = 0;
  }
  return *this;
}

#ifndef CUVI_CPU_ONLY
void StepGraph::reset() {
  if (m_exec) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(m_exec));
  m_exec = nullptr;
  m_nodes = 0;
}

void StepGraph::begin_capture(Backend& backend) {
  CUVI_CHECK(backend.device() == Device::CUDA, "step graphs need the CUDA backend");
  // Thread-local: a forbidden call (sync, allocation, pageable copy) from this thread ends the capture
  // with an error; other threads of the process are not affected.
  cuda_ok(cudaStreamBeginCapture(stream_of(backend), cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
}

bool StepGraph::end_capture(Backend& backend, bool keep) {
  cudaGraph_t graph = nullptr;
  const cudaError_t e = cudaStreamEndCapture(stream_of(backend), &graph);
  if (!keep || e != cudaSuccess) {
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();  // an invalidated capture leaves its error behind; the caller reports the cause
    if (keep)
      fail(std::string("CUDA error in cudaStreamEndCapture: ") + cudaGetErrorString(e) +
           " (a call inside the captured step synchronised with the host or allocated memory)");
    return false;
  }
  size_t n = 0;
  cudaError_t ge = cudaGraphGetNodes(graph, nullptr, &n);
  cudaGraphExec_t exec = nullptr;
  if (ge == cudaSuccess) ge = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);  // the executable does not need it
  cuda_ok(ge, "cudaGraphInstantiate");
  m_exec = exec;
  m_nodes = n;
  return true;
}

void StepGraph::launch(Backend& backend) const {
  CUVI_CHECK(m_exec != nullptr, "launching an empty step graph");
  cuda_ok(cudaGraphLaunch(static_cast<cudaGraphExec_t>(m_exec), stream_of(backend)), "cudaGraphLaunch");
}
#else
// A CPU-only build has no CUDA backend, so no step is ever captured (use_graphs() is false on the CPU).
void StepGraph::reset() { m_exec = nullptr; }
void StepGraph::begin_capture(Backend&) { fail("step graphs need the CUDA backend; this build has no CUDA support"); }
bool StepGraph::end_capture(Backend&, bool) { return false; }
void StepGraph::launch(Backend&) const { fail("step graphs need the CUDA backend; this build has no CUDA support"); }
#endif

size_t plan_step_bytes(Backend& backend, TrainableModel& model, DeviceDataset& data, int64_t batch_size,
                       bool training) {
  Arena plan = Arena::measuring(backend.device(), "plan");
  Tape tape(backend, plan);
  tape.begin_step();
  const MiniBatch mb = data.planning_batch(batch_size, plan);
  const StepTensors st = model.record(tape, mb, training);
  if (training) tape.backward(st.objective != kNoTensor ? st.objective : st.loss);
  return plan.high_water();
}

Trainer::Trainer(Backend& backend, TrainableModel& model, DeviceDataset& data, const TrainConfig& config)
    : m_backend(backend), m_model(model), m_data(data), m_config(config), m_acc(backend, 4 * sizeof(double)) {
  CUVI_CHECK(config.batch_size > 0, "--batch-size must be positive");
}

bool Trainer::use_graphs() const {
  return m_config.cuda_graph && m_backend.device() == Device::CUDA && !m_data.streaming() &&
         m_graph_stats.disabled_reason.empty();
}

void Trainer::drop_graphs() {
  m_graphs.clear();
  m_warm.clear();
  m_discards.clear();
}

bool Trainer::record_step(int64_t b, bool training, bool capturing) {
  Tape& tape = *m_tape;
  const Device dev = m_backend.device();
  Tensor acc(m_acc.data(), DType::F64, dev, Shape{4});  // the three metric sums, then the loss sum
  tape.begin_step();
  const MiniBatch mb = m_data.batch(b, m_arena);
  const StepTensors st = m_model.record(tape, mb, training);
  tape.apply(op("accumulate_sums"), {st.metrics[0], st.metrics[1], st.metrics[2], st.loss, tape.input(acc)});
  if (training) {
    tape.backward(st.objective != kNoTensor ? st.objective : st.loss);
    // A new segment table is an upload, which a capture forbids: discard, run eagerly, capture later.
    if (capturing && !m_optimizer->uses(tape.params_with_grad())) return false;
    m_optimizer->step(tape.params_with_grad());
  }
  return true;
}

void Trainer::run_step(int64_t b, bool training) {
  if (training) ++m_global_step;  // host count only (KL warm-up); the device advances its own step
  if (!use_graphs()) {
    record_step(b, training, false);
    ++m_graph_stats.eager;
    return;
  }
  const GraphKey key{training, m_data.batch_rows(b)};
  auto it = m_graphs.find(key);
  if (it != m_graphs.end() && training && it->second.table_version != m_optimizer->table_version()) {
    m_graphs.erase(it);  // its Adam launch baked in the previous segment table
    it = m_graphs.end();
    ++m_graph_stats.invalidated;
  }
  if (it != m_graphs.end()) {
    it->second.graph.launch(m_backend);
    m_data.batch_replayed(b);
    ++m_graph_stats.replayed;
    return;
  }
  // The first step of a shape runs eagerly, so that whatever cuBLAS or the kernels set up lazily
  // happens outside a capture; so does every step of a shape whose captures keep being discarded.
  auto discards = m_discards.find(key);
  if (!m_warm.count(key) || (discards != m_discards.end() && discards->second >= kMaxDiscards)) {
    record_step(b, training, false);
    m_warm.insert(key);
    ++m_graph_stats.eager;
    return;
  }
  CachedGraph g;
  bool captured = false;
  try {
    captured = g.graph.capture(m_backend, [&] { return record_step(b, training, true); });
  } catch (const Error& e) {
    // A call inside the step that a capture forbids: nothing ran, so the step runs op by op, and so
    // does the rest of the run (same kernels, same order, same results).
    m_data.batch_discarded(b);
    m_graph_stats.disabled_reason = e.what();
    std::fprintf(stderr, "warning: CUDA graph capture failed (%s); the remaining steps run op by op\n", e.what());
    drop_graphs();
    record_step(b, training, false);
    ++m_graph_stats.eager;
    return;
  }
  if (!captured) {
    m_data.batch_discarded(b);  // nothing ran: the device cursor is still at minibatch b
    ++m_discards[key];
    ++m_graph_stats.discarded;
    record_step(b, training, false);
    ++m_graph_stats.eager;
    return;
  }
  g.table_version = training ? m_optimizer->table_version() : 0;
  ++m_graph_stats.captured;
  if (training) m_graph_stats.nodes = std::max(m_graph_stats.nodes, g.graph.n_nodes());
  it = m_graphs.emplace(key, std::move(g)).first;
  it->second.graph.launch(m_backend);  // capturing recorded the step without running it
  ++m_graph_stats.replayed;
}

bool Trainer::run_epoch(const std::vector<int32_t>& rows, bool training, int64_t epoch, std::vector<double>& sums,
                        double& loss_sum, int64_t& steps) {
  m_backend.fill_zero(m_acc.data(), m_acc.size());
  m_data.begin_epoch(rows, training, m_config.seed, uint32_t(epoch), m_config.batch_size);
  if (!m_tape) m_tape = std::make_unique<Tape>(m_backend, m_arena);
  steps = 0;
  const int64_t nb = m_data.n_batches();
  const bool tty = m_config.progress && isatty(2);
  double last_draw = 0;
  const double t0 = now_seconds();
  for (int64_t b = 0; b < nb; ++b) {
    if (training && m_config.n_epochs_kl_warmup <= 0 && m_config.n_steps_kl_warmup > 0) {
      StepScalars s = m_backend.read_scalars();
      s.kl_weight = kl_weight_for(m_config, epoch, m_global_step);
      m_backend.write_scalars(s);
    }
    run_step(b, training);
    ++steps;
    if (training && m_config.on_progress) {
      TrainProgress p;
      p.epoch = epoch;
      p.max_epochs = m_max_epochs;
      p.batch = b + 1;
      p.n_batches = nb;
      p.n_cells = int64_t(rows.size());
      p.cells = std::min<int64_t>((b + 1) * m_config.batch_size, p.n_cells);
      p.epoch_seconds = now_seconds() - t0;
      if (!m_config.on_progress(p)) return false;
    }
    if (tty && training) {
      const double t = now_seconds();
      if (t - last_draw > 0.2 || b + 1 == nb) {
        last_draw = t;
        const double cells_s = double(std::min<int64_t>((b + 1) * m_config.batch_size, int64_t(rows.size()))) /
                               std::max(1e-9, t - t0);
        std::fprintf(stderr, "\r%s  batch %lld/%lld  %.0f cells/s   ", m_status.c_str(), (long long)(b + 1),
                     (long long)nb, cells_s);
        std::fflush(stderr);
      }
    }
  }
  m_data.check_device_errors();
  double host[4];
  m_backend.download(host, m_acc.data(), sizeof(host));
  sums.assign(host, host + 3);
  loss_sum = host[3];
  return true;
}

std::map<std::string, double> Trainer::evaluate(const std::vector<int32_t>& rows, int64_t epoch) {
  std::vector<double> sums;
  double loss_sum = 0;
  int64_t steps = 0;
  run_epoch(rows, false, epoch, sums, loss_sum, steps);
  const std::vector<std::string> names = m_model.metric_names();
  std::map<std::string, double> out;
  const double n = double(std::max<size_t>(rows.size(), 1));
  double elbo = 0;
  for (size_t k = 0; k < names.size() && k < 3; ++k) {
    if (names[k].empty()) continue;
    out[names[k]] = sums[k] / n;
    elbo += sums[k] / n;
  }
  out["elbo"] = elbo;
  out["loss"] = steps ? loss_sum / double(steps) : 0.0;
  return out;
}

TrainResult Trainer::fit() {
  TrainResult r;
  const double t_start = now_seconds();
  const int64_t n = m_data.n_rows();
  r.split = m_config.validation_cells.empty()
                ? split_data(n, m_config.train_size, m_config.batch_size, m_config.seed)
                : split_with_validation(n, m_config.validation_cells);
  const int64_t max_epochs = m_config.max_epochs > 0 ? m_config.max_epochs : default_max_epochs(n);
  m_max_epochs = max_epochs;
  const bool validate = !r.split.validation.empty() && (m_config.check_val_every_epoch || m_config.early_stopping);
  CUVI_CHECK(!m_config.early_stopping || !r.split.validation.empty(),
             "early stopping needs validation cells, but train_size leaves none");

  // Plan the per-step memory once for the largest minibatch (training needs more than eval).
  const int64_t b = std::min<int64_t>(m_config.batch_size, std::max<int64_t>(1, r.split.train.size()));
  size_t need = plan_step_bytes(m_backend, m_model, m_data, b, true);
  if (validate) need = std::max(need, plan_step_bytes(m_backend, m_model, m_data, std::min<int64_t>(
                                                          m_config.batch_size, r.split.validation.size()), false));
  // Graphs name the arena, the tape's seed gradient and the optimizer's segment table: all replaced here.
  drop_graphs();
  m_tape.reset();
  m_arena = Arena(m_backend, need + need / 16 + (1 << 20), "activation");
  m_tape = std::make_unique<Tape>(m_backend, m_arena);
  m_optimizer = std::make_unique<OptimizerSet>(m_backend, m_model.params(), m_config.optimizer,
                                               m_model.extra_optimizers());
  m_graph_stats = StepGraphStats{};

  const std::vector<std::string> names = m_model.metric_names();
  auto& h = r.history;
  double best_value = std::numeric_limits<double>::infinity();
  int64_t since_best = 0;
  WeightSnapshot best, last_epoch;  // early stopping's best epoch; the last finished one (for on_progress)
  if (m_config.on_progress) last_epoch.take(m_backend, m_model.params());
  const bool tty = m_config.progress && isatty(2);
  for (int64_t epoch = 0; epoch < max_epochs; ++epoch) {
    const double t0 = now_seconds();
    StepScalars sc = m_backend.read_scalars();
    sc.kl_weight = kl_weight_for(m_config, epoch, m_global_step);
    m_backend.write_scalars(sc);
    char status[96];
    std::snprintf(status, sizeof status, "epoch %lld/%lld", (long long)(epoch + 1), (long long)max_epochs);
    m_status = status;

    std::vector<double> sums;
    double loss_sum = 0;
    int64_t steps = 0;
    if (!run_epoch(r.split.train, true, epoch, sums, loss_sum, steps)) {
      last_epoch.restore(m_backend, m_model.params());
      r.interrupted = true;
      break;
    }
    const double n_train = double(r.split.train.size());
    double elbo = 0;
    for (size_t k = 0; k < names.size() && k < 3; ++k) {
      if (names[k].empty()) continue;
      h[names[k] + "_train"].push_back(sums[k] / n_train);
      elbo += sums[k] / n_train;
    }
    h["elbo_train"].push_back(elbo);
    h["train_loss_epoch"].push_back(steps ? loss_sum / double(steps) : 0.0);
    h["kl_weight"].push_back(sc.kl_weight);
    if (validate) {
      const auto v = evaluate(r.split.validation, epoch);
      for (const auto& [k, val] : v)
        if (k != "loss") h[k + "_validation"].push_back(val);
      h["validation_loss"].push_back(v.at("loss"));
    }
    const double dt = now_seconds() - t0;
    h["seconds"].push_back(dt);
    h["cells_per_second"].push_back(n_train / std::max(dt, 1e-9));
    r.epochs_run = epoch + 1;
    if (tty) {
      const double elapsed = now_seconds() - t_start;
      std::fprintf(stderr, "\r%s  loss %.2f  elbo_train %.2f%s  %.0f cells/s  ETA %s      ", status,
                   h["train_loss_epoch"].back(), elbo,
                   validate ? ("  elbo_validation " + std::to_string(h["elbo_validation"].back())).c_str() : "",
                   n_train / std::max(dt, 1e-9),
                   clock_string(elapsed / double(epoch + 1) * double(max_epochs - epoch - 1)).c_str());
      std::fflush(stderr);
    }
    if (m_config.on_progress) {
      last_epoch.take(m_backend, m_model.params());
      TrainProgress p;
      p.epoch = epoch;
      p.max_epochs = max_epochs;
      p.batch = p.n_batches = steps;
      p.cells = p.n_cells = int64_t(r.split.train.size());
      p.epoch_seconds = dt;
      p.epoch_done = true;
      p.history = &h;
      if (!m_config.on_progress(p)) {
        r.interrupted = true;
        break;
      }
    }
    if (m_config.early_stopping) {
      const auto it = h.find(m_config.early_stopping_monitor);
      CUVI_CHECK(it != h.end(), "early stopping monitors '" + m_config.early_stopping_monitor + "', which is not logged");
      const double cur = it->second.back();
      CUVI_CHECK(std::isfinite(cur), "training diverged: " + m_config.early_stopping_monitor + " is " +
                                         std::to_string(cur) + " at epoch " + std::to_string(epoch + 1));
      if (cur < best_value - m_config.early_stopping_min_delta) {
        best_value = cur;
        since_best = 0;
        r.best_epoch = epoch;
        best.take(m_backend, m_model.params());
      } else if (++since_best >= m_config.early_stopping_patience) {
        break;
      }
    }
    const double last_loss = h["train_loss_epoch"].back();
    CUVI_CHECK(std::isfinite(last_loss), "training diverged: the loss is " + std::to_string(last_loss) +
                                             " at epoch " + std::to_string(epoch + 1) +
                                             " (try a lower learning rate or check the counts)");
  }
  if (tty) std::fputc('\n', stderr);
  if (m_config.early_stopping && m_config.restore_best_weights && !r.interrupted && !best.empty() &&
      r.best_epoch + 1 < r.epochs_run) {
    best.restore(m_backend, m_model.params());
    r.restored_best = true;
  }
  r.seconds = now_seconds() - t_start;
  r.graphs = m_graph_stats;
  return r;
}

}  // namespace cuvi
