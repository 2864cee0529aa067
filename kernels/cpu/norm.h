// CPU reference for BatchNorm1d (torch semantics, spec scvi-multivi.md §0) and LayerNorm with no, shared or
// per-category affine (MRVI ConditionalNormalization, spec mrvi.md §1). Statistics in double, two-pass variance.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu/reduce.h"

namespace cuvi::cpu {

// BatchNorm forward over the rows of x, per feature f.
// Training: batch mean and biased variance normalise; running_mean = (1-m) rm + m mean and
// running_var = (1-m) rv + m * unbiased variance, in place (left as it is when N = 1). Eval: the running statistics normalise.
// Both modes save the mean and inverse std used (aux) for backward. gamma/beta null: 1/0.
template <class T>
void batchnorm_fwd(const T* x,         // (N, F)
                   const T* gamma,     // (F) or null
                   const T* beta,      // (F) or null
                   T* running_mean,    // (F), updated in training
                   T* running_var,     // (F), updated in training
                   T* y,               // (N, F)
                   T* save_mean,       // (F)
                   T* save_rstd,       // (F)
                   bool training, double momentum, double eps, int64_t N, int64_t F) {
  if (training) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
    for (int64_t f0 = 0; f0 < F; f0 += kColBlock) {
      const int64_t width = std::min(kColBlock, F - f0);
      double mean[kColBlock], sq[kColBlock];
      for (int64_t j = 0; j < width; ++j) mean[j] = sq[j] = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < width; ++j) mean[j] += double(x[n * F + f0 + j]);
      for (int64_t j = 0; j < width; ++j) mean[j] /= double(N);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < width; ++j) {
          const double d = double(x[n * F + f0 + j]) - mean[j];
          sq[j] += d * d;
        }
      for (int64_t j = 0; j < width; ++j) {
        const int64_t f = f0 + j;
        save_mean[f] = static_cast<T>(mean[j]);
        save_rstd[f] = static_cast<T>(1.0 / std::sqrt(sq[j] / double(N) + eps));
        running_mean[f] = static_cast<T>((1.0 - momentum) * double(running_mean[f]) + momentum * mean[j]);
        // Unbiased variance needs two rows: a one-row batch leaves running_var as it was (no inf/NaN).
        if (N > 1)
          running_var[f] =
              static_cast<T>((1.0 - momentum) * double(running_var[f]) + momentum * sq[j] / double(N - 1));
      }
    }
  } else {
    for (int64_t f = 0; f < F; ++f) {
      save_mean[f] = running_mean[f];
      save_rstd[f] = static_cast<T>(1.0 / std::sqrt(double(running_var[f]) + eps));
    }
  }
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f) {
      const double xhat = (double(x[n * F + f]) - double(save_mean[f])) * double(save_rstd[f]);
      y[n * F + f] = static_cast<T>(xhat * (gamma ? double(gamma[f]) : 1.0) + (beta ? double(beta[f]) : 0.0));
    }
}

// BatchNorm backward. With xhat = (x - mean) * rstd, sdy = sum_n dy, sdyx = sum_n dy * xhat:
// dgamma = sdyx, dbeta = sdy; training dx = gamma rstd (dy - sdy/N - xhat sdyx/N), eval dx = gamma rstd dy.
template <class T>
void batchnorm_bwd(const T* x,          // (N, F)
                   const T* gamma,      // (F) or null
                   const T* save_mean,  // (F)
                   const T* save_rstd,  // (F)
                   const T* dy,         // (N, F)
                   T* dx,               // (N, F) or null
                   T* dgamma,           // (F) or null
                   T* dbeta,            // (F) or null
                   bool acc_x, bool acc_gamma, bool acc_beta, bool training, int64_t N, int64_t F) {
  std::vector<double> sdy(static_cast<size_t>(F)), sdyx(static_cast<size_t>(F));
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t f0 = 0; f0 < F; f0 += kColBlock) {
    const int64_t width = std::min(kColBlock, F - f0);
    double a[kColBlock], b[kColBlock];
    for (int64_t j = 0; j < width; ++j) a[j] = b[j] = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < width; ++j) {
        const int64_t f = f0 + j;
        const double g = double(dy[n * F + f]);
        a[j] += g;
        b[j] += g * (double(x[n * F + f]) - double(save_mean[f])) * double(save_rstd[f]);
      }
    for (int64_t j = 0; j < width; ++j) {
      sdy[f0 + j] = a[j];
      sdyx[f0 + j] = b[j];
    }
  }
  if (dgamma)
    for (int64_t f = 0; f < F; ++f) store(dgamma + f, sdyx[f], acc_gamma);
  if (dbeta)
    for (int64_t f = 0; f < F; ++f) store(dbeta + f, sdy[f], acc_beta);
  if (!dx) return;
  const double inv_n = 1.0 / double(N);
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f) {
      const double rstd = double(save_rstd[f]);
      const double k = (gamma ? double(gamma[f]) : 1.0) * rstd;
      const double g = double(dy[n * F + f]);
      double v;
      if (training) {
        const double xhat = (double(x[n * F + f]) - double(save_mean[f])) * rstd;
        v = k * (g - sdy[f] * inv_n - xhat * sdyx[f] * inv_n);
      } else {
        v = k * g;
      }
      store(dx + n * F + f, v, acc_x);
    }
}

// LayerNorm forward over the features of each row: y = xhat * g + b with xhat = (x - mean) * rstd,
// rstd = 1 / sqrt(biased var + eps). g, b: absent (1, 0), shared (F), or per category (S, F) chosen by codes[n].
template <class T>
void layernorm_fwd(const T* x,             // (N, F)
                   const T* gamma,         // (F) or (S, F) or null
                   const T* beta,          // (F) or (S, F) or null
                   const int32_t* codes,   // (N) when gamma/beta are (S, F), else null
                   T* y,                   // (N, F)
                   T* save_mean,           // (N)
                   T* save_rstd,           // (N)
                   double eps, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * F;
    const double mean = row_dot<T>(xr, nullptr, F) / double(F);
    double sq = 0;
    for (int64_t f = 0; f < F; ++f) {
      const double d = double(xr[f]) - mean;
      sq += d * d;
    }
    const double rstd = 1.0 / std::sqrt(sq / double(F) + eps);
    save_mean[n] = static_cast<T>(mean);
    save_rstd[n] = static_cast<T>(rstd);
    const int64_t off = codes ? int64_t(codes[n]) * F : 0;
    const T* g = gamma ? gamma + off : nullptr;
    const T* b = beta ? beta + off : nullptr;
    T* yr = y + n * F;
    for (int64_t f = 0; f < F; ++f) {
      const double xhat = (double(xr[f]) - mean) * rstd;
      yr[f] = static_cast<T>(xhat * (g ? double(g[f]) : 1.0) + (b ? double(b[f]) : 0.0));
    }
  }
}

// LayerNorm backward. dxhat = dy * g; dx = rstd (dxhat - mean_f dxhat - xhat mean_f(dxhat xhat));
// dgamma[s] = sum over rows of category s of dy * xhat, dbeta[s] = sum of dy (S = 1 for shared affine).
template <class T>
void layernorm_bwd(const T* x,             // (N, F)
                   const T* gamma,         // (F) or (S, F) or null
                   const int32_t* codes,   // (N) or null
                   const T* save_mean,     // (N)
                   const T* save_rstd,     // (N)
                   const T* dy,            // (N, F)
                   T* dx,                  // (N, F) or null
                   T* dgamma,              // like gamma, or null
                   T* dbeta,               // like beta, or null
                   bool acc_x, bool acc_gamma, bool acc_beta, int64_t N, int64_t F, int64_t S) {
  if (dx) {
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = x + n * F;
      const T* gr = dy + n * F;
      const T* g = gamma ? gamma + (codes ? int64_t(codes[n]) * F : 0) : nullptr;
      const double mean = double(save_mean[n]), rstd = double(save_rstd[n]);
      double s1 = 0, s2 = 0;
      for (int64_t f = 0; f < F; ++f) {
        const double dxhat = double(gr[f]) * (g ? double(g[f]) : 1.0);
        s1 += dxhat;
        s2 += dxhat * (double(xr[f]) - mean) * rstd;
      }
      s1 /= double(F);
      s2 /= double(F);
      for (int64_t f = 0; f < F; ++f) {
        const double dxhat = double(gr[f]) * (g ? double(g[f]) : 1.0);
        const double xhat = (double(xr[f]) - mean) * rstd;
        store(dx + n * F + f, rstd * (dxhat - s1 - xhat * s2), acc_x);
      }
    }
  }
  if (!dgamma && !dbeta) return;
  // Each thread owns a block of columns for every category and walks the rows in order.
#pragma omp parallel for schedule(static) if (N * F > kParallelMin)
  for (int64_t f0 = 0; f0 < F; f0 += kColBlock) {
    const int64_t width = std::min(kColBlock, F - f0);
    std::vector<double> ag(static_cast<size_t>(S * width), 0.0), ab(static_cast<size_t>(S * width), 0.0);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t s = codes ? int64_t(codes[n]) : 0;
      const double mean = double(save_mean[n]), rstd = double(save_rstd[n]);
      double* rg = ag.data() + s * width;
      double* rb = ab.data() + s * width;
      for (int64_t j = 0; j < width; ++j) {
        const double g = double(dy[n * F + f0 + j]);
        rg[j] += g * (double(x[n * F + f0 + j]) - mean) * rstd;
        rb[j] += g;
      }
    }
    for (int64_t s = 0; s < S; ++s)
      for (int64_t j = 0; j < width; ++j) {
        if (dgamma) store(dgamma + s * F + f0 + j, ag[s * width + j], acc_gamma);
        if (dbeta) store(dbeta + s * F + f0 + j, ab[s * width + j], acc_beta);
      }
  }
}

}  // namespace cuvi::cpu
