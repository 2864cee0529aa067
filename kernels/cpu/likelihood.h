// CPU reference for the likelihood family (kernels/common/likelihood.h): per-row sums of elementwise
// log-densities, their gradients with broadcast inputs reduced over rows in a fixed tile order, and the
// mixture-of-Gaussians prior over full vectors (spec mrvi.md §2). Double accumulation, deterministic.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/common/likelihood.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/vmath.h"

namespace cuvi::cpu {

template <class T>
inline double lik_arg(const LikInputs<T>& in, int i, int64_t n, int64_t j, int64_t C) {
  return in.mode[i] == kLikAbsent ? in.dflt[i] : static_cast<double>(in.p[i][lik_index(in.mode[i], n, j, C)]);
}

// ll[n] = sum_j f(kind, inputs at (n, j)), one element at a time through lik_eval.
template <class T>
void lik_rows_fwd_generic(int kind, const LikInputs<T>& in, double eps,
                          T* ll,  // (N)
                          int64_t N, int64_t C) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    double s = 0;
    for (int64_t j = 0; j < C; ++j)
      s += lik_eval(kind, lik_arg(in, 0, n, j, C), lik_arg(in, 1, n, j, C), lik_arg(in, 2, n, j, C),
                    lik_arg(in, 3, n, j, C), eps, 0u)
               .ll;
    ll[n] = static_cast<T>(s);
  }
}

// Sums the tile partials (T, C) of a broadcast input into its gradient: (C) for a row-broadcast input,
// (1) for a scalar. Tiles are summed in order, so the result does not depend on the thread count.
template <class T>
void lik_reduce_partials(const double* partial,  // (tiles, C)
                         T* d,                   // (C) or (1)
                         bool accumulate, int mode, int64_t tiles, int64_t C) {
  if (mode == kLikRow) {
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < C; ++j) {
      double s = accumulate ? static_cast<double>(d[j]) : 0.0;
      for (int64_t t = 0; t < tiles; ++t) s += partial[t * C + j];
      d[j] = static_cast<T>(s);
    }
  } else {
    double s = accumulate ? static_cast<double>(d[0]) : 0.0;
    for (int64_t t = 0; t < tiles; ++t)
      for (int64_t j = 0; j < C; ++j) s += partial[t * C + j];
    d[0] = static_cast<T>(s);
  }
}

// d_in[i] (+)= dll[n] * d f / d a_i for every input whose g.d[i] is non-null. dll null: zero gradient.
template <class T>
void lik_rows_bwd_generic(int kind, const LikInputs<T>& in, double eps,
                          const T* dll,  // (N) or null
                          const LikGrads<T>& g, int64_t N, int64_t C) {
  unsigned want = 0;
  for (int i = 0; i < 4; ++i)
    if (g.d[i] && in.mode[i] != kLikAbsent) want |= 1u << i;
  const int64_t R = lik_rows_per_tile(N, C), tiles = lik_tiles(N, C);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    for (int i = 0; i < 4; ++i)
      if ((want >> i & 1u) && in.mode[i] != kLikFull)
        for (int64_t j = 0; j < C; ++j) g.partial[i][t * C + j] = 0.0;
    const int64_t n1 = (t + 1) * R < N ? (t + 1) * R : N;
    for (int64_t n = t * R; n < n1; ++n) {
      const double w = dll ? static_cast<double>(dll[n]) : 0.0;
      for (int64_t j = 0; j < C; ++j) {
        LikOut o{0, {0, 0, 0, 0}};
        if (dll)
          o = lik_eval(kind, lik_arg(in, 0, n, j, C), lik_arg(in, 1, n, j, C), lik_arg(in, 2, n, j, C),
                       lik_arg(in, 3, n, j, C), eps, want);
        for (int i = 0; i < 4; ++i) {
          if (!(want >> i & 1u)) continue;
          const double v = dll ? w * o.d[i] : 0.0;
          if (in.mode[i] == kLikFull) {
            T& dst = g.d[i][n * C + j];
            dst = static_cast<T>(g.acc[i] ? static_cast<double>(dst) + v : v);
          } else {
            g.partial[i][t * C + j] += v;
          }
        }
      }
    }
  }
  for (int i = 0; i < 4; ++i)
    if ((want >> i & 1u) && in.mode[i] != kLikFull)
      lik_reduce_partials<T>(g.partial[i], g.d[i], g.acc[i], in.mode[i], tiles, C);
}

// ---------------------------------------------------------------------------------------------------
// NB, GammaPoisson and ZINB with x, mu (and pi) of shape (N, C) and theta (N, C), (C) or (1): the
// formulas of nb_parts / zinb_parts (kernels/common/likelihood.h) rewritten without branches on the
// functions of vmath.h, so that the compiler vectorizes them. A row is taken in blocks of kLikBlock
// columns; each block is split into zero counts, integer counts 1..kLikSmallCount, larger integer
// counts, and the rest. The inputs of the first three groups are packed into contiguous arrays and each
// group is one straight loop; the rest (non-integer counts, NaN, parameters outside
// [kLikFastMin, kLikFastMax]) goes through lik_eval. Everything depends on the data only, not on the
// thread count, and the result of an element does not depend on how theta is broadcast.

constexpr int kLikBlock = 128;
// Range of theta, mu + eps and mu where the packed formulas hold: products of 8 factors theta + j stay
// finite and normal, and so do (mu + eps)(theta + eps + mu) and the sums of reciprocals below.
constexpr double kLikFastMin = 1e-30, kLikFastMax = 1e30;
constexpr double kLikMaxCount = 4503599627370496.0;  // 2^52: larger counts go through lik_eval

// t = theta (log(theta+eps) - log(theta+mu+eps)) = -theta L with L = log1p(mu/(theta+eps)).
struct NbT {
  double L, t;
};
CUVI_VMATH NbT nb_t_vec(double mu, double theta, double eps) {
  const double L = vm_log1p(mu / (theta + eps));
  return {L, -theta * L};
}

// log_ratio_m1(num, den, diff) = log1pmx(d), d = diff/den, for |d| <= 1/2, else log(num/den) - d, with
// log(num/den) given by the caller.
CUVI_VMATH double nb_log_ratio_m1_vec(double d, double log_ratio) {
  const bool near = vm_abs(d) <= 0.5;
  return vm_select(near, vm_log1pmx_series(vm_select(near, d, 0.0)), log_ratio - d);
}

// The NB zero-count derivatives (nb_parts, nb_dt_dtheta) with ib = 1/(tp+mu):
//   dt/dmu = -theta ib, dt/dtheta = log_ratio_m1(tp, tp+mu, -mu) - eps (mu/tp) ib, log(tp/(tp+mu)) = -L.
struct NbZeroParts {
  double L, t, dt_dmu, dt_dtheta;
};
CUVI_VMATH NbZeroParts nb_zero_parts(double mu, double theta, double eps) {
  const double tp = theta + eps, q = mu / tp, L = vm_log1p(q), ib = 1.0 / (tp + mu);
  return {L, -theta * L, -theta * ib, nb_log_ratio_m1_vec(-mu * ib, -L) - eps * q * ib};
}

// G(theta, x) = psi(theta + x) - psi(theta) - log1p(x/theta) for theta >= kLikPsiShift: the series of
// lik_digamma_diff_minus_log, q/theta [1/2 + sum_k c_k theta^(1-2k) S_2k], q = x/(theta+x), r = 1 - q.
CUVI_VMATH double nb_digamma_diff_series(double theta, double x) {
  constexpr double c[7] = {1.0 / 12, -1.0 / 120, 1.0 / 252, -1.0 / 240, 1.0 / 132, -691.0 / 32760, 1.0 / 12};
  const double iz = 1.0 / (theta + x), q = x * iz, r = theta * iz;
  const double inv = 1.0 / theta, f = inv * inv;
  double S = 1.0 + r, rp = r * r, pw = inv, sum = 0.5;
#pragma GCC unroll 7
  for (int k = 0; k < 7; ++k) {
    sum += c[k] * pw * S;
    pw *= f;
    S += rp * (1.0 + r);
    rp *= r * r;
  }
  return q * inv * sum;
}

// -log1pmx(1/s) = 1/s - log1p(1/s) for s >= 2: with d = 1/s, r = d/(2+d) = 1/(2s+1) <= 1/5 and
// y = r^2 <= 1/25, -log1pmx(d) = r (d - 2 y S(y)), S(y) = sum_{k=0..11} y^k/(2k+3) (the first omitted
// term is below 25^-12/27 < 1e-18). d and r come from one division by s (2s + 1).
CUVI_VMATH double nb_unit_step(double s) {
  const double inv = 1.0 / (s * (2.0 * s + 1.0));
  const double d = (2.0 * s + 1.0) * inv, r = s * inv, y = r * r;
  const double S = vm_odd_reciprocal_series<12>(y);
  return r * (d - 2.0 * y * S);
}

// G(theta, x) for x >= kLikPsiShift (lik_digamma_diff_minus_log): below theta = 20 it takes
// n = ceil(20 - theta) unit steps, G(theta, n) = -sum_{j<n} log1pmx(1/(theta+j)) (positive terms, summed
// in order), then the series at (theta + n, x - n). theta + j < 2 only for j < 2.
CUVI_VMATH double nb_digamma_diff_large(double theta, double x) {
  const double n = vm_select(theta < kLikPsiShift, vm_ceil(kLikPsiShift - theta), 0.0);
  double acc = 0.0;
  for (int j = 0; j < 2; ++j) acc -= vm_select(j < n, vm_log1pmx(1.0 / (theta + j)), 0.0);
#pragma GCC unroll 18
  for (int j = 2; j < 20; ++j) acc += vm_select(j < n, nb_unit_step(theta + j), 0.0);
  return acc + nb_digamma_diff_series(theta + n, x - n);
}

// Stirling's series phi(w) = lgamma(w) - (w - 1/2) log w + w - log(2 pi)/2 = sum_{k=1..6} B_2k/(2k(2k-1)
// w^(2k-1)) for w >= 20 (the first omitted term is below 1e-19).
CUVI_VMATH double nb_stirling_phi(double w) {
  const double iw = 1.0 / w, f = iw * iw;
  double s = -691.0 / 360360;
  s = s * f + 1.0 / 1188;
  s = s * f - 1.0 / 1680;
  s = s * f + 1.0 / 1260;
  s = s * f - 1.0 / 360;
  s = s * f + 1.0 / 12;
  return s * iw;
}

// lgamma(z) for z in [kLikFastMin, kLikFastMax]: Stirling at z, or at z + 20 below z = 20 with
// lgamma(z) = lgamma(z + 20) - log prod_{j<20} (z + j) (the product stays below 40^20).
CUVI_VMATH double nb_lgamma_vec(double z) {
  const bool shift = z < 20.0;
  const double zs = vm_select(shift, z, 1.0);
  double p = 1.0;
#pragma GCC unroll 20
  for (int j = 0; j < 20; ++j) p *= zs + j;
  const double w = vm_select(shift, z + 20.0, z);
  const double stirling = (w - 0.5) * vm_log(w) - w + kLogSqrt2Pi + nb_stirling_phi(w);
  return stirling - vm_select(shift, vm_log(p), 0.0);
}

// lgamma(x+theta) - lgamma(theta) - lgamma(x+1) for x >= kLikSmallCount + 1 from Stirling's series, the
// two terms with the closest arguments taken as one difference (x + theta and x + 1 are >= 20):
//   theta > x: (theta - 1/2) log1p(x/theta) + x (log(x+theta) - 1) + phi(x+theta) - phi(theta), - lgamma(x+1)
//   else:      (x + 1/2) log1p((theta-1)/(x+1)) + (theta-1)(log(x+theta) - 1) + phi(x+theta) - phi(x+1),
//              - lgamma(theta).
CUVI_VMATH double nb_lgamma_diff_large(double x, double theta) {
  const bool tf = theta > x;
  const double lp = vm_log1p(vm_select(tf, x / theta, (theta - 1.0) / (x + 1.0)));
  const double lz = vm_log(x + theta) - 1.0;
  const double dphi = nb_stirling_phi(x + theta) - nb_stirling_phi(vm_select(tf, theta, x + 1.0));
  const double pair = vm_select(tf, (theta - 0.5) * lp + x * lz, (x + 0.5) * lp + (theta - 1.0) * lz) + dphi;
  return pair - nb_lgamma_vec(vm_select(tf, x + 1.0, theta));
}

// Zero count, NB: ll = t; d/dmu = -theta/(tp+mu), d/dtheta = dt/dtheta.
CUVI_VMATH double nb_zero_ll_vec(double mu, double theta, double eps) { return nb_t_vec(mu, theta, eps).t; }

struct NbZinbGrad {
  double d_mu, d_theta, d_pi;
};
CUVI_VMATH NbZinbGrad nb_zero_grad_vec(double mu, double theta, double eps) {
  const NbZeroParts z = nb_zero_parts(mu, theta, eps);
  return {z.dt_dmu, z.dt_dtheta, 0.0};
}

// Zero count, ZINB (x < eps; the regimes of zinb_parts, a = -pi + t):
//   -pi > 20: z = t where a > 20, else (a >= 0 ? t : pi) + log1p(e^-|a|);
//   otherwise y = sigmoid(-pi) (1 - e^t) and z = log1p(-y) for y < 1/2, else
//   log(sigmoid(pi) + sigmoid(-pi) e^t) (the log of the mixture mass, a sum of positive terms).
// One exponential serves both regimes: e^-|a| where -pi > 20, e^t and e^t - 1 elsewhere; and one
// logarithm, of 1 + v (v = e^-|a| or -y, with its rounding error carried) or of the mass.
CUVI_VMATH double zinb_zero_ll_vec(double mu, double theta, double pi, double eps) {
  const double t = nb_t_vec(mu, theta, eps).t, mpi = -pi, a = mpi + t;
  const bool flat = mpi > 20.0;
  const VmExpBoth ex = vm_exp_both(vm_select(flat, -vm_abs(a), t));
  const double epi = vm_exp(-vm_abs(pi)), ip = 1.0 / (1.0 + epi);
  const double s_mpi = vm_select(mpi >= 0.0, 1.0, epi) * ip, s_pi = vm_select(pi >= 0.0, 1.0, epi) * ip;
  const double y = s_mpi * -ex.expm1;
  const double v = vm_select(flat, ex.exp, -y), w = 1.0 + v, c = v - (w - 1.0);
  const bool mass = y >= 0.5;  // (not where -pi > 20: there v = e^-|a| and y is not used)
  const double lg = vm_log_sum(vm_select(flat, w, vm_select(mass, s_pi + s_mpi * ex.exp, w)),
                               vm_select(flat, c, vm_select(mass, 0.0, c)));
  const double z_flat = vm_select(a > 20.0, t, vm_select(a >= 0.0, t, pi) + lg);
  return vm_select(flat, z_flat, lg);
}

// Gradients of the ZINB zero branch: d/dt = sigmoid(a) (1 where -pi > 20 and a > 20);
// d/dpi = sigmoid(-a) or 0 where -pi > 20; elsewhere sigmoid(pi) sigmoid(a) expm1(-t) for -t < 1, else
// sigmoid(-a) - sigmoid(pi) (a >= 0) or sigmoid(-pi) - sigmoid(a); d/dmu, d/dtheta = d/dt dt/dmu, dt/dtheta.
CUVI_VMATH NbZinbGrad zinb_zero_grad_vec(double mu, double theta, double pi, double eps) {
  const NbZeroParts z = nb_zero_parts(mu, theta, eps);
  const double t = z.t, mpi = -pi, a = mpi + t;
  const bool flat = mpi > 20.0;
  const double ea = vm_exp(-vm_abs(a)), ia = 1.0 / (1.0 + ea);
  const double s_a = vm_select(a >= 0.0, 1.0, ea) * ia, s_ma = vm_select(a >= 0.0, ea, 1.0) * ia;
  const double epi = vm_exp(-vm_abs(pi)), ip = 1.0 / (1.0 + epi);
  const double s_mpi = vm_select(mpi >= 0.0, 1.0, epi) * ip, s_pi = vm_select(pi >= 0.0, 1.0, epi) * ip;
  const double em1 = vm_expm1(vm_select(-t < 1.0, -t, 1.0));  // e^-t - 1
  const double dz_dt = vm_select(flat, vm_select(a > 20.0, 1.0, s_a), s_a);
  const double dpi_mix = vm_select(-t < 1.0, s_pi * dz_dt * em1, vm_select(a >= 0.0, s_ma - s_pi, s_mpi - dz_dt));
  const double dz_dpi = vm_select(flat, vm_select(a > 20.0, 0.0, s_ma), dpi_mix);
  return {dz_dt * z.dt_dmu, dz_dt * z.dt_dtheta, dz_dpi};
}

// Count x >= 1, NB: ll = t - x log1p(theta/(mu+eps)) + D with D = lgamma(x+theta) - lgamma(theta) - lgamma(x+1):
// for x <= kLikSmallCount D = shift - log(x!), shift = log prod_{j<x} (theta + j) (nb_lgamma_shift),
// above it D = nb_lgamma_diff_large.
CUVI_VMATH double nb_count_ll_vec(double x, double mu, double theta, double eps, double lgamma_diff) {
  const double t = nb_t_vec(mu, theta, eps).t;
  return t - x * vm_log1p(theta / (mu + eps)) + lgamma_diff;
}

// torch's softplus(-pi) = -pi where -pi > 20 makes the nonzero ZINB branch NB + (-pi - softplus(-pi)),
// i.e. NB exactly there and NB - softplus(pi) elsewhere; d/dpi 0 or -sigmoid(pi).
CUVI_VMATH double zinb_count_offset_vec(double pi) { return vm_select(-pi > 20.0, 0.0, -vm_softplus(pi)); }
CUVI_VMATH double zinb_count_dpi_vec(double pi) { return vm_select(-pi > 20.0, 0.0, -vm_sigmoid(pi)); }

// Count x >= 1 (nb_parts): d/dmu = theta (x - mu - eps)/((mu+eps)(tp+mu)) and
// d/dtheta = [G(theta, x) + log1p(eps x/(theta (tp+x)))] + log_ratio_m1(tp+x, tp+mu, x-mu) - eps mu/(tp (tp+mu)),
// the bracket given by the caller.
CUVI_VMATH NbZinbGrad nb_count_grad_vec(double x, double mu, double theta, double eps, double g_p1) {
  const double tp = theta + eps, ib = 1.0 / (tp + mu);
  const double ratio = nb_log_ratio_m1_vec((x - mu) * ib, vm_log((tp + x) * ib));
  return {theta * ((x - mu) - eps) * ib / (mu + eps), g_p1 + ratio - eps * mu * ib / tp, 0.0};
}

// The bracket for x <= kLikSmallCount. theta < 20: G = sum_{j<x} 1/(theta+j) - log1p(x/theta), the sum
// given as recip_sum; log1p(x/theta) - log1p(eps x/(theta (tp+x))) = log1p(x/tp) (as
// theta (tp+x) + eps x = (theta+x) tp), so one log1p covers both. theta >= 20: the series.
CUVI_VMATH double nb_small_g_p1(double x, double theta, double eps, double recip_sum) {
  const double tp = theta + eps;
  const bool small = theta < kLikPsiShift;
  const double lg = vm_log1p(vm_select(small, x / tp, eps * x / (theta * (tp + x))));
  const double series = nb_digamma_diff_series(vm_select(small, kLikPsiShift, theta), x);
  return vm_select(small, recip_sum - lg, series + lg);
}

// The bracket for x > kLikSmallCount.
CUVI_VMATH double nb_large_g_p1(double x, double theta, double eps) {
  const double tp = theta + eps;
  return nb_digamma_diff_large(theta, x) + vm_log1p(eps * x / (theta * (tp + x)));
}

// One group of a block, packed: inputs as doubles and their columns.
struct NbPack {
  int n;
  int32_t col[kLikBlock];
  double x[kLikBlock], mu[kLikBlock], theta[kLikBlock], pi[kLikBlock];
};
// Groups of a block: x = 0 (x < eps for ZINB); x in [1, kLikSmallCount]; larger integers; the rest.
enum NbGroup : int { kNbZero = 0, kNbSmall = 1, kNbLarge = 2, kNbOther = 3 };
struct NbBlock {
  NbPack group[4];
  double x_max;  // largest count in the small group (0 when empty)
};

// Inputs of one row: theta is (C) here or one value for the row (theta_stride 0).
template <class T>
struct NbRow {
  const T *x, *mu, *theta, *pi;  // pi null for NB
  int64_t theta_stride;
};

// Splits columns [j0, j0 + len) of a row into the groups of NbBlock: a vectorized pass converts the
// inputs and computes each element's group, then each element is appended to its group with the
// group counts held in registers (no branch on the data: zero and non-zero counts interleave randomly).
template <class T>
void nb_pack_block(const NbRow<T>& r, double eps, bool zinb, int64_t j0, int len, NbBlock& b) {
  double x[kLikBlock], mu[kLikBlock], th[kLikBlock], pi[kLikBlock], grp[kLikBlock];
  for (int k = 0; k < len; ++k) x[k] = static_cast<double>(r.x[j0 + k]);
  for (int k = 0; k < len; ++k) mu[k] = static_cast<double>(r.mu[j0 + k]);
  if (r.theta_stride)
    for (int k = 0; k < len; ++k) th[k] = static_cast<double>(r.theta[j0 + k]);
  else
    for (int k = 0; k < len; ++k) th[k] = static_cast<double>(r.theta[0]);
  if (r.pi)
    for (int k = 0; k < len; ++k) pi[k] = static_cast<double>(r.pi[j0 + k]);
  else
    for (int k = 0; k < len; ++k) pi[k] = 0.0;
  // ZINB takes the zero branch for x < eps and the NB branch for x > eps.
  const double zero_group = !zinb || eps > 0 ? double(kNbZero) : double(kNbOther);
  double x_max = 0;
  for (int k = 0; k < len; ++k) {
    const double xk = x[k], m = mu[k], t = th[k];
    const bool ok = (t >= kLikFastMin) & (t <= kLikFastMax) & (m >= 0.0) & (m <= kLikFastMax) &
                    (m + eps >= kLikFastMin) & (vm_abs(pi[k]) <= kLikFastMax);
    const bool count = (xk >= 1.0) & (xk <= kLikMaxCount) & (xk == vm_round(xk)) & (!zinb | (xk > eps));
    const double g = vm_select(count, vm_select(xk <= kLikSmallCount, double(kNbSmall), double(kNbLarge)),
                               vm_select(xk == 0.0, zero_group, double(kNbOther)));
    grp[k] = vm_select(ok, g, double(kNbOther));
  }
  // The four group counts are the 16-bit fields of one integer: the slot of an element and the
  // increment of its count are a shift by 16 * group (a ?: chain would compile to branches).
  uint64_t counts = 0;
  for (int k = 0; k < len; ++k) {
    const int gk = static_cast<int>(grp[k]);
    const int at = static_cast<int>(counts >> (16 * gk) & 0xFFFF);
    NbPack& p = b.group[gk];
    p.col[at] = static_cast<int32_t>(j0 + k);
    p.x[at] = x[k];
    p.mu[at] = mu[k];
    p.theta[at] = th[k];
    p.pi[at] = pi[k];
    counts += uint64_t(1) << (16 * gk);
    x_max = std::max(x_max, vm_select(gk == kNbSmall, x[k], 0.0));
  }
  for (int i = 0; i < 4; ++i) b.group[i].n = static_cast<int>(counts >> (16 * i) & 0xFFFF);
  b.x_max = x_max;
}

// shift[k] = log prod_{j < x[k]} (theta[k] + j), the product taken in chunks of 8 factors (the grouping
// of lik_lgamma_shift_int) and renormalised after each chunk: prod = m 2^e, m in [sqrt(1/2), sqrt(2)).
inline void nb_lgamma_shift(const NbPack& p, double x_max, double* shift) {
  double m[kLikBlock], e[kLikBlock];
  for (int k = 0; k < p.n; ++k) {
    m[k] = 1.0;
    e[k] = 0.0;
  }
  const int chunks = (static_cast<int>(x_max) + 7) / 8;
  for (int c = 0; c < chunks; ++c) {
    const double j0 = 8.0 * c;
    for (int k = 0; k < p.n; ++k) {
      double prod = m[k];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) prod *= vm_select(j0 + i < p.x[k], p.theta[k] + (j0 + i), 1.0);
      const VmLogSplit s = vm_log_split(prod);
      e[k] += vm_log_k(s.e);
      m[k] = s.m;
    }
  }
  for (int k = 0; k < p.n; ++k) shift[k] = vm_log_poly(e[k], m[k] - 1.0);
}

// sum[k] = sum_{j < x[k]} 1/(theta[k] + j) for theta[k] < kLikPsiShift (theta clamped there otherwise),
// as N/D: N/D + 1/a = (N a + D)/(D a). D <= (20 + kLikSmallCount)^kLikSmallCount stays finite.
inline void nb_recip_sum(const NbPack& p, double x_max, double* sum) {
  double num[kLikBlock], den[kLikBlock];
  for (int k = 0; k < p.n; ++k) {
    num[k] = 0.0;
    den[k] = 1.0;
  }
  const int chunks = (static_cast<int>(x_max) + 7) / 8;
  for (int c = 0; c < chunks; ++c) {
    const double j0 = 8.0 * c;
    for (int k = 0; k < p.n; ++k) {
      const double th = vm_select(p.theta[k] < kLikPsiShift, p.theta[k], kLikPsiShift);
      double nu = num[k], de = den[k];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const bool on = j0 + i < p.x[k];
        const double a = th + (j0 + i);
        nu = vm_select(on, nu * a + de, nu);
        de = vm_select(on, de * a, de);
      }
      num[k] = nu;
      den[k] = de;
    }
  }
  for (int k = 0; k < p.n; ++k) sum[k] = num[k] / den[k];
}

template <class T>
NbRow<T> nb_row(const LikInputs<T>& in, bool zinb, int64_t n, int64_t C) {
  const int tm = in.mode[2];
  return {in.p[0] + n * C, in.p[1] + n * C, in.p[2] + (tm == kLikFull ? n * C : 0), zinb ? in.p[3] + n * C : nullptr,
          tm == kLikScalar ? 0 : 1};
}

// The packed path applies to NB, GammaPoisson and ZINB whose x, mu, pi are (N, C) and theta present.
template <class T>
bool nb_fast_applies(int kind, const LikInputs<T>& in) {
  if (kind != kLikNB && kind != kLikGammaPoisson && kind != kLikZINB) return false;
  const bool zinb = kind == kLikZINB;
  return in.mode[0] == kLikFull && in.mode[1] == kLikFull && in.mode[2] != kLikAbsent &&
         (!zinb || in.mode[3] == kLikFull);
}

template <bool kZinb, class T>
void nb_rows_fwd(int kind, const LikInputs<T>& in, double eps,
                 T* ll,  // (N)
                 int64_t N, int64_t C) {
  const double* log_fact = lik_log_factorial_table();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const NbRow<T> r = nb_row(in, kZinb, n, C);
    NbBlock b;
    double v[kLikBlock], shift[kLikBlock];
    double s = 0;
    for (int64_t j0 = 0; j0 < C; j0 += kLikBlock) {
      const int len = static_cast<int>(C - j0 < kLikBlock ? C - j0 : kLikBlock);
      nb_pack_block(r, eps, kZinb, j0, len, b);
      const NbPack& z = b.group[kNbZero];
      for (int k = 0; k < z.n; ++k)
        v[k] = kZinb ? zinb_zero_ll_vec(z.mu[k], z.theta[k], z.pi[k], eps) : nb_zero_ll_vec(z.mu[k], z.theta[k], eps);
      s += row_dot<double>(v, nullptr, z.n);
      const NbPack& c = b.group[kNbSmall];
      nb_lgamma_shift(c, b.x_max, shift);
      for (int k = 0; k < c.n; ++k) v[k] = shift[k] - log_fact[static_cast<int>(c.x[k])];
      for (int k = 0; k < c.n; ++k)
        v[k] = nb_count_ll_vec(c.x[k], c.mu[k], c.theta[k], eps, v[k]) +
               (kZinb ? zinb_count_offset_vec(c.pi[k]) : 0.0);
      s += row_dot<double>(v, nullptr, c.n);
      const NbPack& l = b.group[kNbLarge];
      for (int k = 0; k < l.n; ++k)
        v[k] = nb_count_ll_vec(l.x[k], l.mu[k], l.theta[k], eps, nb_lgamma_diff_large(l.x[k], l.theta[k])) +
               (kZinb ? zinb_count_offset_vec(l.pi[k]) : 0.0);
      s += row_dot<double>(v, nullptr, l.n);
      const NbPack& o = b.group[kNbOther];
      for (int k = 0; k < o.n; ++k) {
        const int64_t j = o.col[k];
        s += lik_eval(kind, lik_arg(in, 0, n, j, C), lik_arg(in, 1, n, j, C), lik_arg(in, 2, n, j, C),
                      lik_arg(in, 3, n, j, C), eps, 0u)
                 .ll;
      }
    }
    ll[n] = static_cast<T>(s);
  }
}

// Writes dll[n] * d of input i at (n, j): into the gradient where the input is (N, C), into the tile
// partial row otherwise (as lik_rows_bwd_generic).
template <class T>
CUVI_VMATH void lik_put_grad(const LikGrads<T>& g, const LikInputs<T>& in, unsigned want, int i, int64_t n, int64_t j,
                             int64_t t, int64_t C, double v) {
  if (!(want >> i & 1u)) return;
  if (in.mode[i] == kLikFull) {
    T& dst = g.d[i][n * C + j];
    dst = static_cast<T>(g.acc[i] ? static_cast<double>(dst) + v : v);
  } else {
    g.partial[i][t * C + j] += v;
  }
}

// Gradient rows gm, gt, gp (d/dmu, d/dtheta, d/dpi) of a packed group, times w, written out.
template <class T>
void nb_put_pack(const LikGrads<T>& g, const LikInputs<T>& in, unsigned want, const NbPack& p, const double* gm,
                 const double* gt, const double* gp, double w, int64_t n, int64_t t, int64_t C) {
  const double* rows[4] = {nullptr, gm, gt, gp};
  for (int i = 1; i < 4; ++i) {
    if (!(want >> i & 1u)) continue;
    const double* v = rows[i];
    if (in.mode[i] == kLikFull) {
      T* dst = g.d[i] + n * C;
      if (g.acc[i])
        for (int k = 0; k < p.n; ++k) dst[p.col[k]] = static_cast<T>(static_cast<double>(dst[p.col[k]]) + w * v[k]);
      else
        for (int k = 0; k < p.n; ++k) dst[p.col[k]] = static_cast<T>(w * v[k]);
    } else {
      double* dst = g.partial[i] + t * C;
      for (int k = 0; k < p.n; ++k) dst[p.col[k]] += w * v[k];
    }
  }
}

template <bool kZinb, class T>
void nb_rows_bwd(int kind, const LikInputs<T>& in, double eps,
                 const T* dll,  // (N)
                 const LikGrads<T>& g, int64_t N, int64_t C) {
  unsigned want = 0;
  for (int i = 0; i < 4; ++i)
    if (g.d[i] && in.mode[i] != kLikAbsent) want |= 1u << i;
  const int64_t R = lik_rows_per_tile(N, C), tiles = lik_tiles(N, C);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    for (int i = 0; i < 4; ++i)
      if ((want >> i & 1u) && in.mode[i] != kLikFull)
        for (int64_t j = 0; j < C; ++j) g.partial[i][t * C + j] = 0.0;
    NbBlock b;
    double gm[kLikBlock], gt[kLikBlock], gp[kLikBlock], aux[kLikBlock];
    const int64_t n1 = (t + 1) * R < N ? (t + 1) * R : N;
    for (int64_t n = t * R; n < n1; ++n) {
      const NbRow<T> r = nb_row(in, kZinb, n, C);
      const double w = static_cast<double>(dll[n]);
      for (int64_t j0 = 0; j0 < C; j0 += kLikBlock) {
        const int len = static_cast<int>(C - j0 < kLikBlock ? C - j0 : kLikBlock);
        nb_pack_block(r, eps, kZinb, j0, len, b);
        const NbPack& z = b.group[kNbZero];
        for (int k = 0; k < z.n; ++k) {
          const NbZinbGrad d = kZinb ? zinb_zero_grad_vec(z.mu[k], z.theta[k], z.pi[k], eps)
                                     : nb_zero_grad_vec(z.mu[k], z.theta[k], eps);
          gm[k] = d.d_mu;
          gt[k] = d.d_theta;
          gp[k] = d.d_pi;
        }
        nb_put_pack(g, in, want, z, gm, gt, gp, w, n, t, C);
        const NbPack& c = b.group[kNbSmall];
        nb_recip_sum(c, b.x_max, aux);
        for (int k = 0; k < c.n; ++k) {
          const double g_p1 = nb_small_g_p1(c.x[k], c.theta[k], eps, aux[k]);
          const NbZinbGrad d = nb_count_grad_vec(c.x[k], c.mu[k], c.theta[k], eps, g_p1);
          gm[k] = d.d_mu;
          gt[k] = d.d_theta;
          gp[k] = kZinb ? zinb_count_dpi_vec(c.pi[k]) : 0.0;
        }
        nb_put_pack(g, in, want, c, gm, gt, gp, w, n, t, C);
        const NbPack& l = b.group[kNbLarge];
        for (int k = 0; k < l.n; ++k) {
          const double g_p1 = nb_large_g_p1(l.x[k], l.theta[k], eps);
          const NbZinbGrad d = nb_count_grad_vec(l.x[k], l.mu[k], l.theta[k], eps, g_p1);
          gm[k] = d.d_mu;
          gt[k] = d.d_theta;
          gp[k] = kZinb ? zinb_count_dpi_vec(l.pi[k]) : 0.0;
        }
        nb_put_pack(g, in, want, l, gm, gt, gp, w, n, t, C);
        const NbPack& o = b.group[kNbOther];
        for (int k = 0; k < o.n; ++k) {
          const int64_t j = o.col[k];
          const LikOut o = lik_eval(kind, lik_arg(in, 0, n, j, C), lik_arg(in, 1, n, j, C), lik_arg(in, 2, n, j, C),
                                    lik_arg(in, 3, n, j, C), eps, want);
          for (int i = 0; i < 4; ++i) lik_put_grad(g, in, want, i, n, j, t, C, w * o.d[i]);
        }
      }
    }
  }
  for (int i = 0; i < 4; ++i)
    if ((want >> i & 1u) && in.mode[i] != kLikFull)
      lik_reduce_partials<T>(g.partial[i], g.d[i], g.acc[i], in.mode[i], tiles, C);
}

// ll[n] = sum_j f(kind, inputs at (n, j)).
template <class T>
void lik_rows_fwd(int kind, const LikInputs<T>& in, double eps,
                  T* ll,  // (N)
                  int64_t N, int64_t C) {
  if (nb_fast_applies(kind, in)) {
    const double e = kind == kLikGammaPoisson ? 0.0 : eps;
    if (kind == kLikZINB)
      nb_rows_fwd<true>(kind, in, e, ll, N, C);
    else
      nb_rows_fwd<false>(kind, in, e, ll, N, C);
    return;
  }
  lik_rows_fwd_generic(kind, in, eps, ll, N, C);
}

// d_in[i] (+)= dll[n] * d f / d a_i for every input whose g.d[i] is non-null. dll null: zero gradient.
template <class T>
void lik_rows_bwd(int kind, const LikInputs<T>& in, double eps,
                  const T* dll,  // (N) or null
                  const LikGrads<T>& g, int64_t N, int64_t C) {
  if (dll && nb_fast_applies(kind, in)) {
    const double e = kind == kLikGammaPoisson ? 0.0 : eps;
    if (kind == kLikZINB)
      nb_rows_bwd<true>(kind, in, e, dll, g, N, C);
    else
      nb_rows_bwd<false>(kind, in, e, dll, g, N, C);
    return;
  }
  lik_rows_bwd_generic(kind, in, eps, dll, g, N, C);
}

// ---------------------------------------------------------------------------------------------------
// Mixture of diagonal Gaussians over full vectors (MrVI u prior):
//   ll[n] = logsumexp_k( log_softmax(logits)_k + sum_d log N(u[n,d]; means[k,d], exp(log_scales[k,d])) )
// Gradients with responsibilities w_k = exp(lp_k - ll): du_d = -sum_k w_k z_kd / s_kd,
// dmeans_kd = w_k z_kd / s_kd, dlog_scales_kd = w_k (z_kd^2 - 1), dlogits_k = w_k - softmax(logits)_k,
// z_kd = (u_d - means_kd) / s_kd. means/log_scales (and logits of shape (K)) are summed over rows via
// tile partials like lik_rows_bwd.

constexpr int kMogMaxK = 512;  // stack arrays of the CPU reference; the shape rule enforces it

// lp[k] for row n and the log-normaliser of the logits; returns logsumexp_k lp[k].
template <class T>
double mog_row(const T* u, const T* logits, bool logits_rows, const T* means, const T* log_scales, int64_t n,
               int64_t K, int64_t D, double* lp, double* pik) {
  const T* a = logits + (logits_rows ? n * K : 0);
  double amax = -INFINITY;
  for (int64_t k = 0; k < K; ++k) amax = static_cast<double>(a[k]) > amax ? static_cast<double>(a[k]) : amax;
  double as = 0;
  for (int64_t k = 0; k < K; ++k) as += exp(static_cast<double>(a[k]) - amax);
  const double alse = amax == -INFINITY ? -INFINITY : amax + log(as);
  for (int64_t k = 0; k < K; ++k) {
    const double la = static_cast<double>(a[k]) - alse;
    pik[k] = exp(la);
    double acc = la;
    for (int64_t d = 0; d < D; ++d) {
      const double ls = static_cast<double>(log_scales[k * D + d]);
      const double z = (static_cast<double>(u[n * D + d]) - static_cast<double>(means[k * D + d])) * exp(-ls);
      acc += -0.5 * z * z - ls - kLogSqrt2Pi;
    }
    lp[k] = acc;
  }
  double m = -INFINITY;
  for (int64_t k = 0; k < K; ++k) {
    if (lik_isnan(lp[k])) return NAN;
    m = lp[k] > m ? lp[k] : m;
  }
  if (m == -INFINITY) return -INFINITY;
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += exp(lp[k] - m);
  return m + log(s);
}

template <class T>
void mog_fwd(const T* u,           // (N, D)
             const T* logits,      // (K) or (N, K)
             bool logits_rows,     // logits are (N, K)
             const T* means,       // (K, D)
             const T* log_scales,  // (K, D)
             T* ll,                // (N)
             int64_t N, int64_t K, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    double lp[kMogMaxK], pik[kMogMaxK];
    ll[n] = static_cast<T>(mog_row(u, logits, logits_rows, means, log_scales, n, K, D, lp, pik));
  }
}

// Partials: p_logits (tiles, K) when logits are (K); p_means, p_log_scales (tiles, K*D).
template <class T>
void mog_bwd(const T* u, const T* logits, bool logits_rows, const T* means, const T* log_scales,
             const T* dll,                                  // (N) or null
             T* du, T* dlogits, T* dmeans, T* dlog_scales,  // null where not wanted
             bool acc_u, bool acc_logits, bool acc_means, bool acc_log_scales,
             double* p_logits, double* p_means, double* p_log_scales, int64_t N, int64_t K, int64_t D) {
  const int64_t KD = K * D, R = lik_rows_per_tile(N, KD), tiles = lik_tiles(N, KD);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    double lp[kMogMaxK], pik[kMogMaxK];
    if (dmeans)
      for (int64_t i = 0; i < KD; ++i) p_means[t * KD + i] = 0;
    if (dlog_scales)
      for (int64_t i = 0; i < KD; ++i) p_log_scales[t * KD + i] = 0;
    if (dlogits && !logits_rows)
      for (int64_t k = 0; k < K; ++k) p_logits[t * K + k] = 0;
    const int64_t n1 = (t + 1) * R < N ? (t + 1) * R : N;
    for (int64_t n = t * R; n < n1; ++n) {
      if (!dll) {  // no incoming gradient: zero contributions
        if (du && !acc_u)
          for (int64_t d = 0; d < D; ++d) du[n * D + d] = T(0);
        if (dlogits && logits_rows && !acc_logits)
          for (int64_t k = 0; k < K; ++k) dlogits[n * K + k] = T(0);
        continue;
      }
      const double g = static_cast<double>(dll[n]);
      const double l = mog_row(u, logits, logits_rows, means, log_scales, n, K, D, lp, pik);
      for (int64_t k = 0; k < K; ++k) lp[k] = exp(lp[k] - l);  // responsibilities
      for (int64_t d = 0; d < D; ++d) {
        double su = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double ls = static_cast<double>(log_scales[k * D + d]), inv_s = exp(-ls);
          const double z = (static_cast<double>(u[n * D + d]) - static_cast<double>(means[k * D + d])) * inv_s;
          const double wk = g * lp[k];
          su -= wk * z * inv_s;
          if (dmeans) p_means[t * KD + k * D + d] += wk * z * inv_s;
          if (dlog_scales) p_log_scales[t * KD + k * D + d] += wk * (z * z - 1.0);
        }
        if (du) {
          T& dst = du[n * D + d];
          dst = static_cast<T>(acc_u ? static_cast<double>(dst) + su : su);
        }
      }
      if (dlogits)
        for (int64_t k = 0; k < K; ++k) {
          const double v = g * (lp[k] - pik[k]);
          if (logits_rows) {
            T& dst = dlogits[n * K + k];
            dst = static_cast<T>(acc_logits ? static_cast<double>(dst) + v : v);
          } else {
            p_logits[t * K + k] += v;
          }
        }
    }
  }
  if (dmeans) lik_reduce_partials<T>(p_means, dmeans, acc_means, kLikRow, tiles, KD);
  if (dlog_scales) lik_reduce_partials<T>(p_log_scales, dlog_scales, acc_log_scales, kLikRow, tiles, KD);
  if (dlogits && !logits_rows) lik_reduce_partials<T>(p_logits, dlogits, acc_logits, kLikRow, tiles, K);
}

}  // namespace cuvi::cpu
