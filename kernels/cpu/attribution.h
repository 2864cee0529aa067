// CPU reference for decoder-Jacobian modality attribution (regularizedvi.md §9): the pieces of the exact
// forward-mode Jacobian of an FCLayers decoder (Linear -> LayerNorm without affine -> ReLU per layer, softplus
// head), with K tangent columns per cell stored feature-major, (H, N*K), so one GEMM serves every cell.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace cuvi::cpu {

// d softplus(o)/do with torch's threshold: 1 above 20, sigmoid below.
inline double softplus_slope(double o) { return o > 20.0 ? 1.0 : 1.0 / (1.0 + std::exp(-o)); }

// One layer's forward after its Linear: a += b (bias, per column), u = (a - mean) * rstd with
// rstd = 1/sqrt(var + eps) (biased variance over the H columns of the row), h = relu(u).
template <class T>
void bias_ln_relu_fwd(T* a,          // (N, H) pre-activation, bias added in place
                      const T* bias, // (H) or null
                      T* u,          // (N, H) normalised
                      T* h,          // (N, H) relu(u)
                      T* rstd,       // (N)
                      double eps, int64_t N, int64_t H) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    T* an = a + n * H;
    double mean = 0;
    for (int64_t j = 0; j < H; ++j) {
      if (bias) an[j] = static_cast<T>(double(an[j]) + double(bias[j]));
      mean += double(an[j]);
    }
    mean /= double(H);
    double var = 0;
    for (int64_t j = 0; j < H; ++j) var += (double(an[j]) - mean) * (double(an[j]) - mean);
    const double r = 1.0 / std::sqrt(var / double(H) + eps);
    rstd[n] = static_cast<T>(r);
    for (int64_t j = 0; j < H; ++j) {
      const double v = (double(an[j]) - mean) * r;
      u[n * H + j] = static_cast<T>(v);
      h[n * H + j] = static_cast<T>(v > 0 ? v : 0.0);
    }
  }
}

// Tangent of LayerNorm (no affine) then ReLU, per cell n and tangent column k:
//   t_out[j, nK+k] = 1[u_nj > 0] * rstd_n * (t_j - mean_i t_i - u_nj * mean_i(u_ni t_i)),  t_i = t_in[i, n, k]
// t_in[i, n, k] sits at t_in[i * ld_in + n * cell_stride + k]: cell_stride 0 shares one (H, K) block
// between cells (layer 0, whose tangent is the z columns of its weight), K reads a (H, N*K) block.
template <class T>
void ln_relu_tangent(const T* t_in,   // see above
                     int64_t ld_in, int64_t cell_stride,
                     const T* u,      // (N, H)
                     const T* rstd,   // (N)
                     T* t_out,        // (H, N*K)
                     int64_t N, int64_t H, int64_t K) {
  const int64_t NK = N * K;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < NK; ++c) {
    const int64_t n = c / K, k = c - n * K;
    const T* un = u + n * H;
    double s = 0, su = 0;
    for (int64_t i = 0; i < H; ++i) {
      const double t = double(t_in[i * ld_in + n * cell_stride + k]);
      s += t;
      su += double(un[i]) * t;
    }
    s /= double(H);
    su /= double(H);
    const double r = double(rstd[n]);
    for (int64_t j = 0; j < H; ++j) {
      const double t = double(t_in[j * ld_in + n * cell_stride + k]);
      t_out[j * NK + c] = static_cast<T>(un[j] > 0 ? r * (t - s - double(un[j]) * su) : 0.0);
    }
  }
}

// Attribution of the chunk: with o = o_raw + b_out (the softplus head's input),
//   A[n, k] = exp(log_library_n) / F * sum_f | Y_nf * softplus'(o_nf) * P[f, nK+k] |
// where P = W_out * tangent is the head's tangent (F, N*K) and Y the per-cell feature scaling (1 when null).
template <class T>
void attribution_reduce(const T* o_raw,        // (N, F) h W_out^T, bias not yet added
                        const T* out_bias,     // (F) or null
                        const T* scaling,      // (N, F) or null
                        const T* log_library,  // (N)
                        const T* P,            // (F, N*K)
                        T* A,                  // (N, K)
                        int64_t N, int64_t F, int64_t K) {
  const int64_t NK = N * K;
  constexpr int64_t kBlockColumns = 512;  // accumulators of one block of cells, streamed over f
  const int64_t cells = std::max<int64_t>(1, kBlockColumns / std::max<int64_t>(K, 1));
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t n0 = 0; n0 < N; n0 += cells) {
    const int64_t n1 = std::min(N, n0 + cells);
    std::vector<double> acc(static_cast<size_t>((n1 - n0) * K), 0.0);
    for (int64_t f = 0; f < F; ++f) {
      const T* Pf = P + f * NK;
      for (int64_t n = n0; n < n1; ++n) {
        const double o = double(o_raw[n * F + f]) + (out_bias ? double(out_bias[f]) : 0.0);
        const double g = softplus_slope(o) * (scaling ? double(scaling[n * F + f]) : 1.0);
        double* an = &acc[static_cast<size_t>((n - n0) * K)];
        for (int64_t k = 0; k < K; ++k) an[k] += std::abs(g * double(Pf[n * K + k]));
      }
    }
    for (int64_t n = n0; n < n1; ++n) {
      const double lib = std::exp(double(log_library[n]));
      for (int64_t k = 0; k < K; ++k)
        A[n * K + k] = static_cast<T>(lib * acc[static_cast<size_t>((n - n0) * K + k)] / double(F));
    }
  }
}

}  // namespace cuvi::cpu
