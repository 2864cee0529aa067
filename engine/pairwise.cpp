// Tiled pairwise-distance searches on either backend: the data are centred on the base mean (smaller norms,
// less cancellation in |q|^2 + |b|^2 - 2 q.b), cut into query x base tiles, and reduced tile by tile.
#include "engine/pairwise.h"

#ifndef CUVI_CPU_ONLY
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/error.h"
#include "kernels/cpu/pairwise.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/pairwise.h"
#endif

namespace cuvi {
namespace {

constexpr TileShape kCpuTiles{256, 4096};     // 4 MiB tile per thread
constexpr TileShape kCudaTiles{2048, 16384};  // 128 MiB tile

TileShape tiles_for(const Backend& b, TileShape asked) {
  const TileShape def = b.device() == Device::CUDA ? kCudaTiles : kCpuTiles;
  return {asked.rows > 0 ? asked.rows : def.rows, asked.cols > 0 ? asked.cols : def.cols};
}

void check_finite(const float* x, int64_t n, int64_t d, const char* what) {
  for (int64_t i = 0; i < n * d; ++i)
    if (!std::isfinite(x[i]))
      fail(std::string(what) + ": row " + std::to_string(i / d) + " holds a non-finite value (NaN or Inf)");
}

// Rows of x minus the column means of `of` (double means, float result).
std::vector<float> centred(const float* x, int64_t m, const float* of, int64_t n, int64_t d) {
  std::vector<double> mean(size_t(d), 0.0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t t = 0; t < d; ++t) mean[size_t(t)] += of[j * d + t];
  for (double& v : mean) v /= double(std::max<int64_t>(n, 1));
  std::vector<float> out(static_cast<size_t>(m * d));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t t = 0; t < d; ++t) out[size_t(i * d + t)] = float(double(x[i * d + t]) - mean[size_t(t)]);
  return out;
}

cpu::TileDistance cpu_kind(PairDistance m) {
  return m == PairDistance::Cosine ? cpu::TileDistance::Cosine : cpu::TileDistance::Euclidean;
}
#ifndef CUVI_CPU_ONLY
cuda::TileDistance cuda_kind(PairDistance m) {
  return m == PairDistance::Cosine ? cuda::TileDistance::Cosine : cuda::TileDistance::Euclidean;
}

// Runs a CUDA path, turning the launchers' std::runtime_error into a cuvi::Error naming the search.
template <class F>
void on_cuda(const char* what, F&& f) {
  try {
    f();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(std::string(what) + ": " + e.what());
  }
}

#endif

void knn_cpu(const float* queries, int64_t m, const float* base, int64_t n, int64_t d, int64_t k, bool skip_self,
             TileShape ts, KnnLists* out) {
  const std::vector<float> cq = centred(queries, m, base, n, d), cb = centred(base, n, base, n, d);
  std::vector<float> qs(static_cast<size_t>(m)), bs(static_cast<size_t>(n));
  cpu::row_sq_norms(cq.data(), m, d, qs.data());
  cpu::row_sq_norms(cb.data(), n, d, bs.data());
  float* D = out->distances.data();
  int32_t* I = out->indices.data();
  cpu::topk_init(m, k, D, I);
#pragma omp parallel
  {
    std::vector<float> tile(static_cast<size_t>(ts.rows * ts.cols));
    std::vector<int64_t> self(static_cast<size_t>(ts.rows));
#pragma omp for schedule(dynamic, 1)
    for (int64_t r0 = 0; r0 < m; r0 += ts.rows) {
      const int64_t mr = std::min(ts.rows, m - r0);
      for (int64_t t = 0; t < mr; ++t) self[size_t(t)] = r0 + t;
      for (int64_t c0 = 0; c0 < n; c0 += ts.cols) {
        const int64_t nc = std::min(ts.cols, n - c0);
        cpu::distance_tile(&cq[size_t(r0 * d)], &qs[size_t(r0)], &cb[size_t(c0 * d)], &bs[size_t(c0)], mr, nc, d,
                           cpu::TileDistance::SqEuclidean, tile.data());
        cpu::topk_merge_tile(tile.data(), mr, nc, c0, skip_self ? self.data() : nullptr, k, D + r0 * k, I + r0 * k);
      }
      cpu::knn_refine(queries + r0 * d, base, mr, d, k, D + r0 * k, I + r0 * k);
    }
  }
}

#ifndef CUVI_CPU_ONLY
void knn_cuda(Backend& be, const float* queries, int64_t m, const float* base, int64_t n, int64_t d, int64_t k,
              bool skip_self, TileShape ts, KnnLists* out) {
  auto s = static_cast<cudaStream_t>(be.ctx().stream);
  auto h = static_cast<cublasHandle_t>(be.ctx().cublas);
  const std::vector<float> cq = centred(queries, m, base, n, d), cb = centred(base, n, base, n, d);
  const int64_t mq = std::min(ts.rows, m), nb = std::min(ts.cols, n);
  DeviceBuffer dcq(be, cq.size() * 4), dcb(be, cb.size() * 4), dq(be, cq.size() * 4), db(be, cb.size() * 4);
  DeviceBuffer dqs(be, size_t(m) * 4), dbs(be, size_t(n) * 4), dD(be, size_t(m * k) * 4), dI(be, size_t(m * k) * 4);
  DeviceBuffer tile(be, size_t(mq * nb) * 4), self(be, size_t(m) * 8);
  be.upload(dcq.data(), cq.data(), cq.size() * 4);
  be.upload(dcb.data(), cb.data(), cb.size() * 4);
  be.upload(dq.data(), queries, size_t(m * d) * 4);
  be.upload(db.data(), base, size_t(n * d) * 4);
  std::vector<int64_t> rows(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) rows[size_t(i)] = i;
  be.upload(self.data(), rows.data(), rows.size() * 8);
  auto* Q = static_cast<float*>(dcq.data());
  auto* B = static_cast<float*>(dcb.data());
  auto* qs = static_cast<float*>(dqs.data());
  auto* bs = static_cast<float*>(dbs.data());
  auto* D = static_cast<float*>(dD.data());
  auto* I = static_cast<int32_t*>(dI.data());
  auto* T = static_cast<float*>(tile.data());
  cuda::row_sq_norms(s, Q, m, d, qs);
  cuda::row_sq_norms(s, B, n, d, bs);
  cuda::topk_init(s, m, k, D, I);
  for (int64_t r0 = 0; r0 < m; r0 += mq) {
    const int64_t mr = std::min(mq, m - r0);
    const int64_t* sp = skip_self ? static_cast<const int64_t*>(self.data()) + r0 : nullptr;
    for (int64_t c0 = 0; c0 < n; c0 += nb) {
      const int64_t nc = std::min(nb, n - c0);
      cuda::distance_tile(h, s, Q + r0 * d, qs + r0, B + c0 * d, bs + c0, mr, nc, d, cuda::TileDistance::SqEuclidean,
                          T);
      cuda::topk_merge_tile(s, T, mr, nc, c0, sp, k, D + r0 * k, I + r0 * k);
    }
  }
  cuda::knn_refine(s, static_cast<float*>(dq.data()), static_cast<float*>(db.data()), m, d, k, D, I);
  be.download(out->distances.data(), D, size_t(m * k) * 4);
  be.download(out->indices.data(), I, size_t(m * k) * 4);
}

#endif

// The rows as the tiles see them: centred (Euclidean) or normalised to unit length (cosine).
std::vector<float> tile_rows(const float* x, int64_t n, int64_t d, PairDistance metric) {
  if (metric == PairDistance::Euclidean) return centred(x, n, x, n, d);
  std::vector<float> out(x, x + n * d);
  cpu::normalize_rows(out.data(), n, d);
  return out;
}

void sums_cpu(const float* x, int64_t n, int64_t d, const std::vector<int64_t>& seg, PairDistance metric,
              TileShape ts, std::vector<double>* sums) {
  const int64_t S = int64_t(seg.size()) - 1;
  const std::vector<float> rows = tile_rows(x, n, d, metric);
  std::vector<float> sq(static_cast<size_t>(n));
  cpu::row_sq_norms(rows.data(), n, d, sq.data());
#pragma omp parallel
  {
    std::vector<float> tile(static_cast<size_t>(ts.rows * ts.cols));
#pragma omp for schedule(dynamic, 1)
    for (int64_t r0 = 0; r0 < n; r0 += ts.rows) {
      const int64_t mr = std::min(ts.rows, n - r0);
      for (int64_t c0 = 0; c0 < n; c0 += ts.cols) {
        const int64_t nc = std::min(ts.cols, n - c0);
        cpu::distance_tile(&rows[size_t(r0 * d)], &sq[size_t(r0)], &rows[size_t(c0 * d)], &sq[size_t(c0)], mr, nc, d,
                           cpu_kind(metric), tile.data());
        cpu::segment_sums_tile(tile.data(), mr, nc, c0, seg.data(), S, sums->data() + r0 * S);
      }
    }
  }
}

#ifndef CUVI_CPU_ONLY
void sums_cuda(Backend& be, const float* x, int64_t n, int64_t d, const std::vector<int64_t>& seg,
               PairDistance metric, TileShape ts, std::vector<double>* sums) {
  auto s = static_cast<cudaStream_t>(be.ctx().stream);
  auto h = static_cast<cublasHandle_t>(be.ctx().cublas);
  const int64_t S = int64_t(seg.size()) - 1;
  const int64_t mq = std::min(ts.rows, n), nb = std::min(ts.cols, n);
  std::vector<float> rows = metric == PairDistance::Euclidean ? centred(x, n, x, n, d) : std::vector<float>(x, x + n * d);
  DeviceBuffer dx(be, rows.size() * 4), dsq(be, size_t(n) * 4), dseg(be, seg.size() * 8);
  DeviceBuffer dsums(be, size_t(n * S) * 8), tile(be, size_t(mq * nb) * 4);
  be.upload(dx.data(), rows.data(), rows.size() * 4);
  be.upload(dseg.data(), seg.data(), seg.size() * 8);
  be.fill_zero(dsums.data(), size_t(n * S) * 8);
  auto* X = static_cast<float*>(dx.data());
  auto* sq = static_cast<float*>(dsq.data());
  auto* T = static_cast<float*>(tile.data());
  auto* out = static_cast<double*>(dsums.data());
  if (metric == PairDistance::Cosine) cuda::normalize_rows(s, X, n, d);
  cuda::row_sq_norms(s, X, n, d, sq);
  for (int64_t r0 = 0; r0 < n; r0 += mq) {
    const int64_t mr = std::min(mq, n - r0);
    for (int64_t c0 = 0; c0 < n; c0 += nb) {
      const int64_t nc = std::min(nb, n - c0);
      cuda::distance_tile(h, s, X + r0 * d, sq + r0, X + c0 * d, sq + c0, mr, nc, d, cuda_kind(metric), T);
      cuda::segment_sums_tile(s, T, mr, nc, c0, static_cast<int64_t*>(dseg.data()), S, out + r0 * S);
    }
  }
  be.download(sums->data(), out, size_t(n * S) * 8);
}
#endif

}  // namespace

KnnLists knn_search(Backend& backend, const float* queries, int64_t m, const float* base, int64_t n, int64_t d,
                    int64_t k, bool skip_self, TileShape tiles) {
  CUVI_CHECK(m >= 0 && n >= 1 && d >= 1, "knn_search: empty data (" + std::to_string(n) + " rows x " +
                                             std::to_string(d) + " dimensions)");
  CUVI_CHECK(!skip_self || m == n, "knn_search: skip_self needs the queries to be the base rows");
  const int64_t available = n - (skip_self ? 1 : 0);
  CUVI_CHECK(k >= 1 && k <= available, "knn_search: k = " + std::to_string(k) + " neighbours asked but only " +
                                           std::to_string(available) + " rows are available");
  CUVI_CHECK(k <= kKnnMaxNeighbors, "knn_search: k = " + std::to_string(k) + " exceeds the largest supported (" +
                                        std::to_string(kKnnMaxNeighbors) + ")");
  check_finite(queries, m, d, "knn_search queries");
  check_finite(base, n, d, "knn_search base");
  KnnLists out;
  out.n_rows = m;
  out.k = k;
  out.indices.resize(size_t(m * k));
  out.distances.resize(size_t(m * k));
  if (m == 0) return out;
  const TileShape ts = tiles_for(backend, tiles);
#ifndef CUVI_CPU_ONLY
  if (backend.device() == Device::CUDA) {
    on_cuda("knn_search", [&] { knn_cuda(backend, queries, m, base, n, d, k, skip_self, ts, &out); });
    return out;
  }
#endif
  knn_cpu(queries, m, base, n, d, k, skip_self, ts, &out);
  return out;
}

std::vector<double> segment_distance_sums(Backend& backend, const float* x, int64_t n, int64_t d,
                                          const std::vector<int64_t>& seg, PairDistance metric, TileShape tiles) {
  CUVI_CHECK(seg.size() >= 2 && seg.front() == 0 && seg.back() == n,
             "segment_distance_sums: segments must start at row 0 and end at row n");
  for (size_t s = 1; s < seg.size(); ++s)
    CUVI_CHECK(seg[s] >= seg[s - 1], "segment_distance_sums: segment bounds must not decrease");
  check_finite(x, n, d, "segment_distance_sums");
  std::vector<double> sums(size_t(n) * (seg.size() - 1), 0.0);
  if (n == 0) return sums;
  const TileShape ts = tiles_for(backend, tiles);
#ifndef CUVI_CPU_ONLY
  if (backend.device() == Device::CUDA) {
    on_cuda("segment_distance_sums", [&] { sums_cuda(backend, x, n, d, seg, metric, ts, &sums); });
    return sums;
  }
#endif
  sums_cpu(x, n, d, seg, metric, ts, &sums);
  return sums;
}

}  // namespace cuvi
