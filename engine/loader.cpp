// DeviceDataset implementation: resident CSR + device shuffle + minibatch rows at the step scalars'
// cursor, or host super-batch streaming with the next super-batch gathered on a background thread
// while the current one trains.
#include "engine/loader.h"

#ifndef CUVI_CPU_ONLY
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cstring>
#include <thread>

#include "engine/registry.h"
#include "kernels/common/device_error.h"
#include "kernels/cpu/gather.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/gather.h"
#endif

namespace cuvi {
namespace {

constexpr uint32_t kShuffleStream = 0x5348u;  // Philox stream of the epoch shuffle

template <class T>
DeviceBuffer upload_vector(Backend& b, const std::vector<T>& v) {
  DeviceBuffer buf(b, std::max<size_t>(v.size(), 1) * sizeof(T));
  if (!v.empty()) b.upload(buf.data(), v.data(), v.size() * sizeof(T));
  return buf;
}

size_t free_device_bytes(Backend& b) {
  if (b.device() != Device::CUDA) return SIZE_MAX;
  size_t free_b = 0;
#ifndef CUVI_CPU_ONLY
  size_t total = 0;
  if (cudaMemGetInfo(&free_b, &total) != cudaSuccess) return 0;
#endif
  return free_b;
}

}  // namespace

// Host-side state of the streaming path: the compact CSR of the super-batch being trained and the
// one being prefetched.
struct DeviceDataset::Stream {
  struct Host {
    std::vector<int64_t> indptr;
    std::vector<int32_t> indices;
    std::vector<float> data;
  };
  int64_t rows_per_super = 0;
  int64_t loaded = -1;  // super-batch currently on the device
  int64_t pending = -1; // super-batch being gathered on the host
  Host next;
  std::thread worker;
  DeviceBuffer indptr, indices, data;
  size_t capacity_nnz = 0;

  void gather(const CsrView& csr, const int32_t* rows, int64_t n) {
    next.indptr.assign(1, 0);
    int64_t nnz = 0;
    for (int64_t i = 0; i < n; ++i) {
      nnz += csr.indptr[rows[i] + 1] - csr.indptr[rows[i]];
      next.indptr.push_back(nnz);
    }
    next.indices.resize(nnz);
    next.data.resize(nnz);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t a = csr.indptr[rows[i]], len = csr.indptr[rows[i] + 1] - a;
      std::memcpy(next.indices.data() + next.indptr[i], csr.indices + a, len * sizeof(int32_t));
      std::memcpy(next.data.data() + next.indptr[i], csr.data + a, len * sizeof(float));
    }
  }
  void join() {
    if (worker.joinable()) worker.join();
  }
};

DeviceDataset::DeviceDataset(Backend& backend, const CsrView& counts, const CellTable& cells,
                             const LoaderOptions& options)
    : m_backend(backend), m_counts(counts), m_cells(cells) {
  const int64_t R = counts.n_rows;
  CUVI_CHECK(R > 0 && counts.n_cols > 0, "the count matrix is empty");
  CUVI_CHECK(R < (int64_t(1) << 31) && counts.n_cols < (int64_t(1) << 31), "more than 2^31 cells or genes");
  CUVI_CHECK(static_cast<int64_t>(cells.batch.size()) == R && static_cast<int64_t>(cells.labels.size()) == R &&
                 static_cast<int64_t>(cells.codes.size()) == R * cells.n_codes &&
                 static_cast<int64_t>(cells.cont.size()) == R * cells.n_cont,
             "per-cell covariate tables do not match the number of cells");
  const size_t csr_bytes = (R + 1) * 8 + counts.nnz() * 8;
  size_t budget = options.memory_budget_bytes;
  if (budget == 0) {
    const size_t free_b = free_device_bytes(backend);
    budget = free_b == SIZE_MAX ? SIZE_MAX : free_b / 10 * 8;
  }
  m_streaming = csr_bytes > budget;
  m_codes = upload_vector(backend, cells.codes);
  m_batch = upload_vector(backend, cells.batch);
  m_labels = upload_vector(backend, cells.labels);
  m_cont = upload_vector(backend, cells.cont);
  m_subset = DeviceBuffer(backend, R * sizeof(int32_t));
  m_order = DeviceBuffer(backend, R * sizeof(int32_t));
  m_epoch_rows = DeviceBuffer(backend, R * sizeof(int32_t));
  if (!m_streaming) {
    m_indptr = DeviceBuffer(backend, (R + 1) * sizeof(int64_t));
    m_indices = DeviceBuffer(backend, std::max<int64_t>(counts.nnz(), 1) * sizeof(int32_t));
    m_data = DeviceBuffer(backend, std::max<int64_t>(counts.nnz(), 1) * sizeof(float));
    backend.upload(m_indptr.data(), counts.indptr, (R + 1) * sizeof(int64_t));
    if (counts.nnz()) {
      backend.upload(m_indices.data(), counts.indices, counts.nnz() * sizeof(int32_t));
      backend.upload(m_data.data(), counts.data, counts.nnz() * sizeof(float));
    }
#ifndef CUVI_CPU_ONLY
    if (backend.device() == Device::CUDA)
      m_scratch = DeviceBuffer(backend, cuda::philox_permutation_scratch(R));
#endif
  } else {
    m_stream = std::make_unique<Stream>();
    m_stream->rows_per_super = std::max<int64_t>(1, options.prefetch_batches);
  }
}

DeviceDataset::~DeviceDataset() {
  if (m_stream) m_stream->join();
}

int64_t DeviceDataset::n_batches() const { return m_batch_size ? (m_epoch_n + m_batch_size - 1) / m_batch_size : 0; }

int64_t DeviceDataset::batch_rows(int64_t b) const { return std::min(m_batch_size, m_epoch_n - b * m_batch_size); }

void DeviceDataset::begin_epoch(const std::vector<int32_t>& rows, bool shuffle, uint64_t seed, uint32_t epoch,
                                int64_t batch_size) {
  CUVI_CHECK(batch_size > 0, "batch size must be positive");
  const int64_t n = static_cast<int64_t>(rows.size());
  for (int32_t r : rows) CUVI_CHECK(r >= 0 && r < m_counts.n_rows, "epoch row index out of range");
  m_epoch_n = n;
  m_batch_size = batch_size;
  m_next_batch = 0;
  // The cursor restarts with the epoch (outside any captured step: the step only reads and advances it).
  m_backend.fill_zero(&m_backend.ctx().scalars->batch_start, sizeof(int64_t));
  if (n == 0) return;
  const bool on_host = m_streaming || m_backend.device() == Device::CPU;
  if (on_host) {
    std::vector<int32_t> order(n);
    if (shuffle)
      cpu::philox_permutation(seed, epoch, kShuffleStream, n, order.data());
    else
      for (int64_t i = 0; i < n; ++i) order[i] = int32_t(i);
    m_host_order.resize(n);
    for (int64_t i = 0; i < n; ++i) m_host_order[i] = rows[order[i]];
    m_backend.upload(m_epoch_rows.data(), m_host_order.data(), n * sizeof(int32_t));
  } else {
#ifndef CUVI_CPU_ONLY
    m_backend.upload(m_subset.data(), rows.data(), n * sizeof(int32_t));
    auto s = static_cast<cudaStream_t>(m_backend.ctx().stream);
    try {
      if (shuffle) {
        cuda::philox_permutation(s, seed, epoch, kShuffleStream, n, static_cast<int32_t*>(m_order.data()),
                                 m_scratch.data(), m_scratch.size());
        cuda::take_rows(s, static_cast<int32_t*>(m_subset.data()), static_cast<int32_t*>(m_order.data()),
                        static_cast<int32_t*>(m_epoch_rows.data()), n);
      } else {
        m_backend.copy(m_epoch_rows.data(), m_subset.data(), n * sizeof(int32_t));
      }
    } catch (const std::runtime_error& e) {
      fail(e.what());
    }
#endif
  }
  if (m_streaming) {
    Stream& st = *m_stream;
    st.join();
    st.loaded = st.pending = -1;
    const int64_t rows_per = st.rows_per_super * batch_size;
    // Device buffers sized for the largest super-batch of this epoch.
    size_t max_nnz = 1;
    for (int64_t a = 0; a < n; a += rows_per) {
      size_t nnz = 0;
      for (int64_t i = a; i < std::min(n, a + rows_per); ++i)
        nnz += m_counts.indptr[m_host_order[i] + 1] - m_counts.indptr[m_host_order[i]];
      max_nnz = std::max(max_nnz, nnz);
    }
    if (max_nnz > st.capacity_nnz || !st.indptr.data()) {
      st.capacity_nnz = max_nnz;
      st.indptr = DeviceBuffer(m_backend, (rows_per + 1) * sizeof(int64_t));
      st.indices = DeviceBuffer(m_backend, max_nnz * sizeof(int32_t));
      st.data = DeviceBuffer(m_backend, max_nnz * sizeof(float));
      std::vector<int32_t> identity(rows_per);
      for (int64_t i = 0; i < rows_per; ++i) identity[i] = int32_t(i);
      m_identity = upload_vector(m_backend, identity);
    }
    st.pending = 0;
    st.worker = std::thread([this, &st, rows_per] {
      st.gather(m_counts, m_host_order.data(), std::min(rows_per, m_epoch_n));
    });
  }
}

#ifndef CUVI_CPU_ONLY
MiniBatch DeviceDataset::gather_at_cursor(int64_t n, Arena& arena) {
  const int64_t G = m_counts.n_cols;
  MiniBatch mb;
  mb.n = n;
  mb.rows = arena.tensor(DType::I32, Shape{n});
  mb.x = arena.tensor(DType::F32, Shape{n, G});
  mb.x_log1p = arena.tensor(DType::F32, Shape{n, G});
  mb.log_library = arena.tensor(DType::F32, Shape{n, 1});
  if (m_cells.n_codes) mb.codes = arena.tensor(DType::I32, Shape{n, m_cells.n_codes});
  mb.batch = arena.tensor(DType::I32, Shape{n});
  mb.labels = arena.tensor(DType::I32, Shape{n});
  if (m_cells.n_cont) mb.cont = arena.tensor(DType::F32, Shape{n, m_cells.n_cont});
  if (arena.is_measuring()) return mb;
  ExecContext& ctx = m_backend.ctx();
  cuda::BatchGather a;
  a.epoch_rows = static_cast<const int32_t*>(m_epoch_rows.data());
  a.E = m_epoch_n;
  a.batch_start = &ctx.scalars->batch_start;
  a.advance = m_batch_size;
  a.blocks_done = reinterpret_cast<unsigned long long*>(&ctx.scalars->gather_blocks_done);
  a.err = ctx.scalars->device_error;
  a.indptr = static_cast<const int64_t*>(m_indptr.data());
  a.indices = static_cast<const int32_t*>(m_indices.data());
  a.data = static_cast<const float*>(m_data.data());
  a.R = m_counts.n_rows;
  a.nnz = m_counts.nnz();
  a.G = G;
  a.rows_out = mb.rows.ptr<int32_t>();
  a.x = mb.x.ptr<float>();
  a.x_log1p = mb.x_log1p.ptr<float>();
  a.log_library = mb.log_library.ptr<float>();
  if (m_cells.n_codes) {
    a.tables.codes = static_cast<const int32_t*>(m_codes.data());
    a.tables.codes_out = mb.codes.ptr<int32_t>();
    a.tables.J = m_cells.n_codes;
  }
  a.tables.batch = static_cast<const int32_t*>(m_batch.data());
  a.tables.batch_out = mb.batch.ptr<int32_t>();
  a.tables.labels = static_cast<const int32_t*>(m_labels.data());
  a.tables.labels_out = mb.labels.ptr<int32_t>();
  if (m_cells.n_cont) {
    a.tables.cont = static_cast<const float*>(m_cont.data());
    a.tables.cont_out = mb.cont.ptr<float>();
    a.tables.C = m_cells.n_cont;
  }
  try {
    cuda::gather_batch(static_cast<cudaStream_t>(ctx.stream), a, n);
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
  return mb;
}
#endif

void DeviceDataset::check_device_errors() {
  if (m_backend.device() != Device::CUDA) return;  // the CPU path fails where it finds the problem
  StepScalars s = m_backend.read_scalars();
  const int64_t kind = s.device_error[0], value = s.device_error[1];
  if (kind == kDeviceErrorNone) return;
  s.device_error[0] = s.device_error[1] = 0;
  m_backend.write_scalars(s);
  if (kind == kDeviceErrorCursor)
    fail("minibatch gather: the loader's cursor (position " + std::to_string(value) + " of the epoch's " +
         std::to_string(m_epoch_n) + " rows) and the minibatch size (" + std::to_string(m_batch_size) +
         ") run past the epoch");
  if (kind == kDeviceErrorRow)
    fail("minibatch gather: row index " + std::to_string(value) + " is outside the count matrix's " +
         std::to_string(m_counts.n_rows) + " rows");
  fail("minibatch gather: device error " + std::to_string(kind) + " (value " + std::to_string(value) + ")");
}

std::vector<int32_t> DeviceDataset::epoch_order() {
  std::vector<int32_t> v(m_epoch_n);
  if (m_epoch_n) m_backend.download(v.data(), m_epoch_rows.data(), m_epoch_n * sizeof(int32_t));
  return v;
}

MiniBatch DeviceDataset::gather(Arena& arena, const Tensor& csr_indptr, const Tensor& csr_indices,
                                const Tensor& csr_data, const Tensor& local_rows, const int32_t* dataset_rows_dev,
                                int64_t n) {
  const Device dev = m_backend.device();
  MiniBatch mb;
  mb.n = n;
  mb.rows = Tensor(const_cast<int32_t*>(dataset_rows_dev), DType::I32, dev, Shape{n});
  OpParams p;
  p.i[0] = m_counts.n_cols;
  Tensor out[3] = {arena.tensor(DType::F32, Shape{n, m_counts.n_cols}), arena.tensor(DType::F32, Shape{n, m_counts.n_cols}),
                   arena.tensor(DType::F32, Shape{n, 1})};
  mb.x = out[0];
  mb.x_log1p = out[1];
  mb.log_library = out[2];
  {
    Tensor in[4] = {csr_indptr, csr_indices, csr_data, local_rows};
    OpIO io;
    io.in = in;
    io.n_in = 4;
    io.out = out;
    io.n_out = 3;
    io.p = &p;
    io.ctx = &m_backend.ctx();
    if (!arena.is_measuring()) run_forward(op("gather_csr_rows"), io);
  }
  auto gather_table = [&](const DeviceBuffer& table, int64_t cols, DType t) {
    if (cols == 0) return Tensor();
    Tensor out = arena.tensor(t, Shape{n, cols});
    Tensor in[2] = {Tensor(table.data(), t, dev, Shape{m_counts.n_rows, cols}), mb.rows};
    OpIO io;
    io.in = in;
    io.n_in = 2;
    io.out = &out;
    io.n_out = 1;
    io.ctx = &m_backend.ctx();
    OpParams none;
    io.p = &none;
    if (!arena.is_measuring()) run_forward(op("gather_rows"), io);
    return out;
  };
  mb.codes = gather_table(m_codes, m_cells.n_codes, DType::I32);
  mb.batch = Tensor(gather_table(m_batch, 1, DType::I32).data, DType::I32, dev, Shape{n});
  mb.labels = Tensor(gather_table(m_labels, 1, DType::I32).data, DType::I32, dev, Shape{n});
  mb.cont = gather_table(m_cont, m_cells.n_cont, DType::F32);
  return mb;
}

MiniBatch DeviceDataset::planning_batch(int64_t n, Arena& measuring) const {
  CUVI_CHECK(measuring.is_measuring(), "planning_batch needs a measuring arena");
  MiniBatch mb;
  mb.n = n;
  mb.x = measuring.tensor(DType::F32, Shape{n, m_counts.n_cols});
  mb.x_log1p = measuring.tensor(DType::F32, Shape{n, m_counts.n_cols});
  mb.log_library = measuring.tensor(DType::F32, Shape{n, 1});
  if (m_cells.n_codes) mb.codes = measuring.tensor(DType::I32, Shape{n, m_cells.n_codes});
  mb.batch = measuring.tensor(DType::I32, Shape{n});
  mb.labels = measuring.tensor(DType::I32, Shape{n});
  if (m_cells.n_cont) mb.cont = measuring.tensor(DType::F32, Shape{n, m_cells.n_cont});
  mb.rows = measuring.tensor(DType::I32, Shape{n});
  return mb;
}

void DeviceDataset::batch_replayed(int64_t b) {
  CUVI_CHECK(!m_streaming && b == m_next_batch && b < n_batches(),
             "a replayed step gathered minibatch " + std::to_string(b) + " but the loader's cursor is at " +
                 std::to_string(m_next_batch));
  ++m_next_batch;
}

void DeviceDataset::batch_discarded(int64_t b) {
  CUVI_CHECK(!m_streaming && b + 1 == m_next_batch, "a discarded capture did not gather the last minibatch");
  --m_next_batch;
}

MiniBatch DeviceDataset::batch(int64_t b, Arena& arena) {
  CUVI_CHECK(b >= 0 && b < n_batches(), "minibatch index out of range");
  CUVI_CHECK(b == m_next_batch, "minibatches must be gathered in order within an epoch: minibatch " +
                                    std::to_string(b) + " requested, the loader is at " + std::to_string(m_next_batch));
  const int64_t n = batch_rows(b);
  const Device dev = m_backend.device();
  ++m_next_batch;
  if (!m_streaming) {
    // The rows come from the cursor, not from b: the same launch serves every minibatch of this size.
#ifndef CUVI_CPU_ONLY
    if (dev == Device::CUDA) return gather_at_cursor(n, arena);
#endif
    const Tensor rows = arena.tensor(DType::I32, Shape{n});
    if (!arena.is_measuring()) {
      ExecContext& ctx = m_backend.ctx();
      const int32_t* epoch_rows = static_cast<const int32_t*>(m_epoch_rows.data());  // (m_epoch_n)
      CUVI_CHECK(cpu::take_batch_rows(epoch_rows, m_epoch_n, &ctx.scalars->batch_start, rows.ptr<int32_t>(), n,
                                      m_batch_size),
                 "the loader's cursor is past the epoch (minibatch " + std::to_string(b) + ")");
    }
    const int64_t R = m_counts.n_rows, nnz = std::max<int64_t>(m_counts.nnz(), 1);
    return gather(arena, Tensor(m_indptr.data(), DType::I64, dev, Shape{R + 1}),
                  Tensor(m_indices.data(), DType::I32, dev, Shape{nnz}),
                  Tensor(m_data.data(), DType::F32, dev, Shape{nnz}), rows, rows.ptr<int32_t>(), n);
  }
  const int32_t* rows_dev = static_cast<const int32_t*>(m_epoch_rows.data()) + b * m_batch_size;
  Stream& st = *m_stream;
  const int64_t rows_per = st.rows_per_super * m_batch_size;
  const int64_t super = b / st.rows_per_super;
  if (st.loaded != super) {
    CUVI_CHECK(st.pending == super, "streamed minibatches must be requested in order within an epoch");
    st.join();
    const int64_t m = static_cast<int64_t>(st.next.indptr.size()) - 1;
    m_backend.upload(st.indptr.data(), st.next.indptr.data(), (m + 1) * sizeof(int64_t));
    if (!st.next.indices.empty()) {
      m_backend.upload(st.indices.data(), st.next.indices.data(), st.next.indices.size() * sizeof(int32_t));
      m_backend.upload(st.data.data(), st.next.data.data(), st.next.data.size() * sizeof(float));
    }
    st.loaded = super;
    const int64_t next_start = (super + 1) * rows_per;
    if (next_start < m_epoch_n) {
      st.pending = super + 1;
      st.worker = std::thread([this, &st, next_start, rows_per] {
        st.gather(m_counts, m_host_order.data() + next_start, std::min(rows_per, m_epoch_n - next_start));
      });
    }
  }
  const int64_t local0 = (b % st.rows_per_super) * m_batch_size;
  const int64_t cap = static_cast<int64_t>(st.capacity_nnz);
  return gather(arena, Tensor(st.indptr.data(), DType::I64, dev, Shape{rows_per + 1}),
                Tensor(st.indices.data(), DType::I32, dev, Shape{cap}), Tensor(st.data.data(), DType::F32, dev, Shape{cap}),
                Tensor(static_cast<int32_t*>(m_identity.data()) + local0, DType::I32, dev, Shape{n}), rows_dev, n);
}

}  // namespace cuvi
