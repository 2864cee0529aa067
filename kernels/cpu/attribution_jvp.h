// CPU reference of decoder attribution by forward mode, one JVP per latent column (regularizedvi's "h2b"),
// cell by cell in double, for decoders of any depth (regularizedvi.md §9); and the decoder's px_rate
// (without the background, whose derivative is 0) for finite-difference checks.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/common/fc_decoder.h"
#include "kernels/cpu/attribution.h"

namespace cuvi::cpu {

namespace detail {

// Layer l's pre-activation for cell n from its input block x (z | cont for layer 0, else the hidden h).
template <class T>
void layer_pre(const FcDecoderView<T>& d, size_t l, const std::vector<double>& x, const DecoderPoint<T>& p,
               int64_t n, std::vector<double>* a) {
  const FcDecoderLayer<T>& L = d.layers[l];
  const int64_t nx = int64_t(x.size()), nc = d.cov_columns(l);
  a->assign(size_t(L.n_out), 0.0);
  for (int64_t j = 0; j < L.n_out; ++j) {
    double v = L.bias ? double(L.bias[j]) : 0.0;
    for (int64_t i = 0; i < nx; ++i) v += double(L.weight[j * L.n_in + i]) * x[size_t(i)];
    for (int64_t c = 0; c < nc; ++c) v += double(L.weight[j * L.n_in + nx + c]) * double(p.cov[n * d.n_cov + c]);
    (*a)[size_t(j)] = v;
  }
}

// LayerNorm without affine: u and 1/s of a.
inline void layer_norm(const std::vector<double>& a, double eps, std::vector<double>* u, double* rstd) {
  const double H = double(a.size());
  double mean = 0, var = 0;
  for (double v : a) mean += v;
  mean /= H;
  for (double v : a) var += (v - mean) * (v - mean);
  *rstd = 1.0 / std::sqrt(var / H + eps);
  u->resize(a.size());
  for (size_t j = 0; j < a.size(); ++j) (*u)[j] = (a[j] - mean) * *rstd;
}

template <class T>
double feature_scale(const DecoderPoint<T>& p, int64_t F, int64_t n, int64_t f) {
  if (!p.fs_table) return 1.0;
  double y = 0;
  for (int64_t s = 0; s < p.n_fs_rows; ++s) y += double(p.fs_indicator[n * p.n_fs_rows + s]) * double(p.fs_table[s * F + f]);
  return y;
}

}  // namespace detail

// rate[f] = exp(l_n) * softplus(o_f) * Y_nf for cell n at latent point z (n_latent values).
template <class T>
void decoder_rate(const FcDecoderView<T>& d, const DecoderPoint<T>& p, int64_t n, const double* z, double* rate) {
  std::vector<double> x(size_t(d.n_latent + d.n_cont)), a, u;
  for (int64_t k = 0; k < d.n_latent; ++k) x[size_t(k)] = z[k];
  for (int64_t c = 0; c < d.n_cont; ++c) x[size_t(d.n_latent + c)] = double(p.cont[n * d.n_cont + c]);
  for (size_t l = 0; l < d.layers.size(); ++l) {
    double rstd = 0;
    detail::layer_pre(d, l, x, p, n, &a);
    detail::layer_norm(a, d.ln_eps, &u, &rstd);
    x.resize(u.size());
    for (size_t j = 0; j < u.size(); ++j) x[j] = u[j] > 0 ? u[j] : 0.0;
  }
  const int64_t H = int64_t(x.size()), F = d.n_features;
  for (int64_t f = 0; f < F; ++f) {
    double o = d.out_bias ? double(d.out_bias[f]) : 0.0;
    for (int64_t j = 0; j < H; ++j) o += double(d.out_weight[f * H + j]) * x[size_t(j)];
    const double rho = o > 20.0 ? o : std::log1p(std::exp(o));  // torch softplus, threshold 20
    rate[f] = std::exp(double(p.log_library[n])) * rho * detail::feature_scale(p, F, n, f);
  }
}

// A[n, k] = (1/F) sum_f |d rate_nf / d z_nk|, each column k by its own JVP (tangent e_k through every layer).
template <class T>
void decoder_attribution_jvp(const FcDecoderView<T>& d, const DecoderPoint<T>& p, double* A /* (N, n_latent) */) {
  const int64_t K = d.n_latent, F = d.n_features, L = int64_t(d.layers.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t n = 0; n < p.n_cells; ++n) {
    // Forward, keeping each layer's normalised activations.
    std::vector<std::vector<double>> us(static_cast<size_t>(L));
    std::vector<double> rstds(static_cast<size_t>(L));
    std::vector<double> x(size_t(K + d.n_cont)), a;
    for (int64_t k = 0; k < K; ++k) x[size_t(k)] = double(p.z[n * K + k]);
    for (int64_t c = 0; c < d.n_cont; ++c) x[size_t(K + c)] = double(p.cont[n * d.n_cont + c]);
    for (int64_t l = 0; l < L; ++l) {
      detail::layer_pre(d, size_t(l), x, p, n, &a);
      detail::layer_norm(a, d.ln_eps, &us[size_t(l)], &rstds[size_t(l)]);
      x.resize(a.size());
      for (size_t j = 0; j < a.size(); ++j) x[j] = us[size_t(l)][j] > 0 ? us[size_t(l)][j] : 0.0;
    }
    const int64_t H = int64_t(x.size());
    std::vector<double> g(static_cast<size_t>(F));
    for (int64_t f = 0; f < F; ++f) {
      double o = d.out_bias ? double(d.out_bias[f]) : 0.0;
      for (int64_t j = 0; j < H; ++j) o += double(d.out_weight[f * H + j]) * x[size_t(j)];
      g[size_t(f)] = softplus_slope(o) * detail::feature_scale(p, F, n, f);
    }
    const double lib = std::exp(double(p.log_library[n]));
    // One JVP per latent column.
    std::vector<double> t, ta;
    for (int64_t k = 0; k < K; ++k) {
      t.assign(size_t(K), 0.0);
      t[size_t(k)] = 1.0;
      for (int64_t l = 0; l < L; ++l) {
        const FcDecoderLayer<T>& Ly = d.layers[size_t(l)];
        const int64_t nin = int64_t(t.size());  // tangent of the non-covariate inputs (cont: 0, omitted)
        ta.assign(size_t(Ly.n_out), 0.0);
        for (int64_t j = 0; j < Ly.n_out; ++j)
          for (int64_t i = 0; i < nin; ++i) ta[size_t(j)] += double(Ly.weight[j * Ly.n_in + i]) * t[size_t(i)];
        const std::vector<double>& u = us[size_t(l)];
        const double Hl = double(Ly.n_out);
        double s = 0, su = 0;
        for (int64_t j = 0; j < Ly.n_out; ++j) {
          s += ta[size_t(j)];
          su += u[size_t(j)] * ta[size_t(j)];
        }
        t.assign(size_t(Ly.n_out), 0.0);
        for (int64_t j = 0; j < Ly.n_out; ++j)
          if (u[size_t(j)] > 0) t[size_t(j)] = rstds[size_t(l)] * (ta[size_t(j)] - s / Hl - u[size_t(j)] * su / Hl);
      }
      double acc = 0;
      for (int64_t f = 0; f < F; ++f) {
        double pf = 0;
        for (int64_t j = 0; j < H; ++j) pf += double(d.out_weight[f * H + j]) * t[size_t(j)];
        acc += std::abs(g[size_t(f)] * pf);
      }
      A[n * K + k] = lib * acc / double(F);
    }
  }
}

}  // namespace cuvi::cpu
