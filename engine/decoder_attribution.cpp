// Chunked forward-mode attribution on either backend: per chunk, the decoder forward (GEMMs + LayerNorm/ReLU),
// the tangents of all cells' K latent columns as one (H, cells*K) block per layer (one GEMM each), the head's
// tangent P = W_out T and the weighted |P| mean over features (kernels/cpu|cuda/attribution.h).
#include "engine/decoder_attribution.h"

#ifndef CUVI_CPU_ONLY
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/error.h"
#include "kernels/cpu/attribution.h"
#include "kernels/cpu/gemm.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/attribution.h"
#include "kernels/cuda/linear.h"
#endif

namespace cuvi {
namespace {

constexpr int64_t kCpuTangentBudget = int64_t(1) << 22;   // floats of the head tangent per chunk (16 MiB)
constexpr int64_t kCudaTangentBudget = int64_t(1) << 26;  // 256 MiB

// The GEMM and the three kernels on the backend the buffers live on (a CPU-only build has no CUDA backend).
struct Ops {
  Backend& be;
  bool cuda() const { return be.device() == Device::CUDA; }
#ifndef CUVI_CPU_ONLY
  cudaStream_t stream() const { return static_cast<cudaStream_t>(be.ctx().stream); }
  cublasHandle_t cublas() const { return static_cast<cublasHandle_t>(be.ctx().cublas); }
#endif
  void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
            int64_t ldb, float* C, int64_t ldc, bool acc) const {
#ifndef CUVI_CPU_ONLY
    if (cuda()) return cuda::gemm_rm(cublas(), ta, tb, M, N, K, A, lda, B, ldb, C, ldc, acc);
#endif
    cpu::gemm(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
  void ln_relu(float* a, const float* b, float* u, float* h, float* rstd, double eps, int64_t N, int64_t H) const {
#ifndef CUVI_CPU_ONLY
    if (cuda()) return cuda::bias_ln_relu_fwd(stream(), a, b, u, h, rstd, float(eps), N, H);
#endif
    cpu::bias_ln_relu_fwd(a, b, u, h, rstd, eps, N, H);
  }
  void tangent(const float* t, int64_t ld, int64_t cs, const float* u, const float* rstd, float* out, int64_t N,
               int64_t H, int64_t K) const {
#ifndef CUVI_CPU_ONLY
    if (cuda()) return cuda::ln_relu_tangent(stream(), t, ld, cs, u, rstd, out, N, H, K);
#endif
    cpu::ln_relu_tangent(t, ld, cs, u, rstd, out, N, H, K);
  }
  void reduce(const float* o, const float* b, const float* y, const float* lib, const float* P, float* A, int64_t N,
              int64_t F, int64_t K) const {
#ifndef CUVI_CPU_ONLY
    if (cuda()) return cuda::attribution_reduce(stream(), o, b, y, lib, P, A, N, F, K);
#endif
    cpu::attribution_reduce(o, b, y, lib, P, A, N, F, K);
  }
};

float* fptr(DeviceBuffer& b) { return static_cast<float*>(b.data()); }

void check_shapes(const DecoderWeights& d, const DecoderPoint<float>& p) {
  CUVI_CHECK(!d.layers.empty(), "decoder attribution: the decoder has no hidden layer");
  CUVI_CHECK(d.n_latent > 0 && d.n_features > 0 && d.out_weight, "decoder attribution: empty latent or feature space");
  int64_t prev = d.n_latent + d.n_cont;
  for (size_t l = 0; l < d.layers.size(); ++l) {
    const FcDecoderLayer<float>& L = d.layers[l];
    const int64_t want = prev + d.cov_columns(l);
    CUVI_CHECK(L.weight && L.n_out > 0 && L.n_in == want,
               "decoder attribution: layer " + std::to_string(l) + " takes " + std::to_string(L.n_in) +
                   " inputs, expected " + std::to_string(want));
    prev = L.n_out;
  }
  CUVI_CHECK(p.z && p.log_library, "decoder attribution: no latent point or library");
  CUVI_CHECK(d.n_cont == 0 || p.cont, "decoder attribution: continuous covariates missing");
  CUVI_CHECK(d.n_cov == 0 || p.cov, "decoder attribution: covariate one-hots missing");
  CUVI_CHECK(!p.fs_table || (p.fs_indicator && p.n_fs_rows > 0), "decoder attribution: feature scaling without rows");
  for (int64_t i = 0; i < p.n_cells * d.n_latent; ++i)
    CUVI_CHECK(std::isfinite(p.z[i]), "decoder attribution: latent point of cell " + std::to_string(i / d.n_latent) +
                                          " is not finite");
  for (int64_t n = 0; n < p.n_cells; ++n)
    CUVI_CHECK(std::isfinite(p.log_library[n]), "decoder attribution: library of cell " + std::to_string(n) +
                                                    " is not finite");
}

}  // namespace

void decoder_attribution(Backend& be, const DecoderWeights& d, const DecoderPoint<float>& p, float* attribution,
                         int64_t chunk_cells) {
  check_shapes(d, p);
  if (p.n_cells == 0) return;
  const Ops ops{be};
  const int64_t K = d.n_latent, F = d.n_features, Q = d.n_cov, C = d.n_cont, L = int64_t(d.layers.size());
  const int64_t budget = ops.cuda() ? kCudaTangentBudget : kCpuTangentBudget;
  int64_t Hmax = 0;
  for (const auto& Ly : d.layers) Hmax = std::max(Hmax, Ly.n_out);
  const int64_t chunk = chunk_cells > 0 ? std::min(chunk_cells, p.n_cells)
                                        : std::clamp<int64_t>(budget / std::max<int64_t>(1, std::max(F, Hmax) * K), 1,
                                                              std::min<int64_t>(p.n_cells, 4096));
  const int64_t H_last = d.layers.back().n_out;
  const int64_t S = p.fs_table ? p.n_fs_rows : 0;

  // Weights on the backend.
  std::vector<DeviceBuffer> w(static_cast<size_t>(L)), b(static_cast<size_t>(L));
  for (int64_t l = 0; l < L; ++l) {
    const auto& Ly = d.layers[size_t(l)];
    w[size_t(l)] = DeviceBuffer(be, size_t(Ly.n_out * Ly.n_in) * 4);
    be.upload(w[size_t(l)].data(), Ly.weight, size_t(Ly.n_out * Ly.n_in) * 4);
    if (Ly.bias) {
      b[size_t(l)] = DeviceBuffer(be, size_t(Ly.n_out) * 4);
      be.upload(b[size_t(l)].data(), Ly.bias, size_t(Ly.n_out) * 4);
    }
  }
  DeviceBuffer wout(be, size_t(F * H_last) * 4), bout, fs_table;
  be.upload(wout.data(), d.out_weight, size_t(F * H_last) * 4);
  if (d.out_bias) {
    bout = DeviceBuffer(be, size_t(F) * 4);
    be.upload(bout.data(), d.out_bias, size_t(F) * 4);
  }
  if (S > 0) {
    fs_table = DeviceBuffer(be, size_t(S * F) * 4);
    be.upload(fs_table.data(), p.fs_table, size_t(S * F) * 4);
  }

  // Chunk buffers.
  const int64_t D0 = K + C + Q;
  DeviceBuffer x0(be, size_t(chunk * D0) * 4), cov(be, size_t(chunk * std::max<int64_t>(Q, 1)) * 4);
  DeviceBuffer a(be, size_t(chunk * Hmax) * 4), u_all(be, size_t(L * chunk * Hmax) * 4);
  DeviceBuffer h(be, size_t(chunk * Hmax) * 4), rstd(be, size_t(L * chunk) * 4), lib(be, size_t(chunk) * 4);
  DeviceBuffer t_pre(be, size_t(Hmax * chunk * K) * 4), t(be, size_t(Hmax * chunk * K) * 4);
  DeviceBuffer o(be, size_t(chunk * F) * 4), P(be, size_t(F * chunk * K) * 4), A(be, size_t(chunk * K) * 4);
  DeviceBuffer ind, y;
  if (S > 0) {
    ind = DeviceBuffer(be, size_t(chunk * S) * 4);
    y = DeviceBuffer(be, size_t(chunk * F) * 4);
  }
  std::vector<float> host_x0(size_t(chunk * D0));

  for (int64_t n0 = 0; n0 < p.n_cells; n0 += chunk) {
    const int64_t nc = std::min(chunk, p.n_cells - n0), NK = nc * K;
    for (int64_t n = 0; n < nc; ++n) {
      float* row = &host_x0[size_t(n * D0)];
      std::copy(p.z + (n0 + n) * K, p.z + (n0 + n + 1) * K, row);
      if (C) std::copy(p.cont + (n0 + n) * C, p.cont + (n0 + n + 1) * C, row + K);
      if (Q) std::copy(p.cov + (n0 + n) * Q, p.cov + (n0 + n + 1) * Q, row + K + C);
    }
    be.upload(x0.data(), host_x0.data(), size_t(nc * D0) * 4);
    if (Q) be.upload(cov.data(), p.cov + n0 * Q, size_t(nc * Q) * 4);
    be.upload(lib.data(), p.log_library + n0, size_t(nc) * 4);

    // Layer 0: a = [z | cont | cov] W0^T, its tangent is W0's z columns, shared by every cell.
    const auto& L0 = d.layers[0];
    float* u0 = fptr(u_all);
    ops.gemm(false, true, nc, L0.n_out, D0, fptr(x0), D0, fptr(w[0]), L0.n_in, fptr(a), L0.n_out, false);
    ops.ln_relu(fptr(a), L0.bias ? fptr(b[0]) : nullptr, u0, fptr(h), fptr(rstd), d.ln_eps, nc, L0.n_out);
    ops.tangent(fptr(w[0]), L0.n_in, 0, u0, fptr(rstd), fptr(t), nc, L0.n_out, K);
    int64_t Hp = L0.n_out;
    for (int64_t l = 1; l < L; ++l) {
      const auto& Ly = d.layers[size_t(l)];
      float* ul = fptr(u_all) + l * chunk * Hmax;
      float* rl = fptr(rstd) + l * chunk;
      // a = h W[:, :Hp]^T (+ cov W[:, Hp:]^T); the h buffer is reused for this layer's output below.
      ops.gemm(false, true, nc, Ly.n_out, Hp, fptr(h), Hp, fptr(w[size_t(l)]), Ly.n_in, fptr(a), Ly.n_out, false);
      if (d.cov_columns(static_cast<size_t>(l)))
        ops.gemm(false, true, nc, Ly.n_out, Q, fptr(cov), Q, fptr(w[size_t(l)]) + Hp, Ly.n_in, fptr(a), Ly.n_out,
                 true);
      ops.ln_relu(fptr(a), Ly.bias ? fptr(b[size_t(l)]) : nullptr, ul, fptr(h), rl, d.ln_eps, nc, Ly.n_out);
      // Tangent: W[:, :Hp] T (Ly.n_out, nc*K), then LayerNorm + ReLU per cell.
      ops.gemm(false, false, Ly.n_out, NK, Hp, fptr(w[size_t(l)]), Ly.n_in, fptr(t), NK, fptr(t_pre), NK, false);
      ops.tangent(fptr(t_pre), NK, K, ul, rl, fptr(t), nc, Ly.n_out, K);
      Hp = Ly.n_out;
    }
    // Head: o = h W_out^T, P = W_out T.
    ops.gemm(false, true, nc, F, Hp, fptr(h), Hp, fptr(wout), Hp, fptr(o), F, false);
    ops.gemm(false, false, F, NK, Hp, fptr(wout), Hp, fptr(t), NK, fptr(P), NK, false);
    if (S > 0) {
      be.upload(ind.data(), p.fs_indicator + n0 * S, size_t(nc * S) * 4);
      ops.gemm(false, false, nc, F, S, fptr(ind), S, fptr(fs_table), F, fptr(y), F, false);
    }
    ops.reduce(fptr(o), d.out_bias ? fptr(bout) : nullptr, S > 0 ? fptr(y) : nullptr, fptr(lib), fptr(P), fptr(A), nc,
               F, K);
    be.download(attribution + n0 * K, A.data(), size_t(NK) * 4);
  }
}

}  // namespace cuvi
