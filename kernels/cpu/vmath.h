// Double-precision log, log1p, exp, expm1, log1pmx, sigmoid and softplus written as plain scalar C++ that
// the compiler vectorizes inside hot CPU loops (no libm call, no branch).
// Used by the CPU likelihood, softmax and log1p loops; accuracy in tests/ops/test_vmath.cpp.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

// Forced inlining: a call left in a loop body keeps that loop scalar.
#define CUVI_VMATH inline __attribute__((always_inline))

namespace cuvi::cpu {

// ---------------------------------------------------------------------------------------------------
// Bits and branch-free selection. A ?: whose arms hold arithmetic may become a branch (the compiler
// does not evaluate a possibly trapping operation speculatively), which stops vectorization; the bit
// select below always evaluates both arms.

CUVI_VMATH uint64_t vm_bits(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
CUVI_VMATH double vm_from_bits(uint64_t u) {
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
// c ? a : b
CUVI_VMATH double vm_select(bool c, double a, double b) {
  const uint64_t m = uint64_t(0) - uint64_t(c);
  return vm_from_bits((vm_bits(a) & m) | (vm_bits(b) & ~m));
}
CUVI_VMATH double vm_abs(double x) { return vm_from_bits(vm_bits(x) & 0x7FFFFFFFFFFFFFFFull); }
CUVI_VMATH bool vm_isnan(double x) { return x != x; }

constexpr double kVmInf = std::numeric_limits<double>::infinity();
constexpr double kVmNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kVmShift = 6755399441055744.0;  // 1.5 * 2^52: x + kVmShift - kVmShift rounds x to an integer
constexpr double kVmLog2e = 1.4426950408889634;  // 1/ln 2
// ln 2 = kVmLn2Hi + kVmLn2Lo; kVmLn2Hi has 38 significant bits, so n * kVmLn2Hi is exact for |n| < 2^15.
constexpr double kVmLn2Hi = 0x1.62e42fefa4000p-1;
constexpr double kVmLn2Lo = -0x1.8432a1b0e2634p-43;

// Nearest integer (ties to even) and ceiling, for |x| < 2^51.
CUVI_VMATH double vm_round(double x) { return (x + kVmShift) - kVmShift; }
CUVI_VMATH double vm_ceil(double x) {
  const double r = vm_round(x);
  return vm_select(r < x, r + 1.0, r);
}

// 2^n for an integer-valued double n in [-1022, 1023]: n + kVmShift holds n in its low mantissa bits;
// adding the exponent bias and shifting moves it into the exponent field (the high bits fall off).
CUVI_VMATH double vm_pow2(double n) { return vm_from_bits((vm_bits(n + kVmShift) + 1023) << 52); }

// ---------------------------------------------------------------------------------------------------
// Exponentials. x = n ln2 + r with n = round(x / ln2), |r| <= ln2/2 (+ rounding), and
// p = e^r - 1 = r + r^2 (1/2! + r/3! + ... + r^11/13!): the first omitted term is below
// 0.35^13/14! < 1.3e-17 relative to p. Valid for |x| < 2^40 (callers clamp).

struct VmExpReduced {
  double n, p;
};
CUVI_VMATH VmExpReduced vm_exp_reduce(double x) {
  const double n = (x * kVmLog2e + kVmShift) - kVmShift;
  const double r = (x - n * kVmLn2Hi) - n * kVmLn2Lo;
  double q = 1.0 / 6227020800.0;  // 1/13!
  q = q * r + 1.0 / 479001600.0;
  q = q * r + 1.0 / 39916800.0;
  q = q * r + 1.0 / 3628800.0;
  q = q * r + 1.0 / 362880.0;
  q = q * r + 1.0 / 40320.0;
  q = q * r + 1.0 / 5040.0;
  q = q * r + 1.0 / 720.0;
  q = q * r + 1.0 / 120.0;
  q = q * r + 1.0 / 24.0;
  q = q * r + 1.0 / 6.0;
  q = q * r + 0.5;
  return {n, r + (r * r) * q};
}

// (1 + p) 2^n for n in [-1077, 1025], the scale split in two normal factors so that results in the
// subnormal range round once and n = 1024 overflows to inf.
CUVI_VMATH double vm_exp_scale(VmExpReduced e) {
  const double n1 = (e.n * 0.5 + kVmShift) - kVmShift;
  return ((1.0 + e.p) * vm_pow2(n1)) * vm_pow2(e.n - n1);
}

// e^x and e^x - 1 from one reduction. e^x: 0 below -745.2, inf above 709.8. e^x - 1 = 2^n p + (2^n - 1):
// 2^n - 1 is exact for |n| <= 53 and for n = 0 the result is p itself, so small |x| keeps full relative
// accuracy; e^x - 1 rounds to -1 for n < -80 and to e^x for n > 1000. NaN gives NaN.
struct VmExpBoth {
  double exp, expm1;
};
CUVI_VMATH VmExpBoth vm_exp_both(double x) {
  const double xc = vm_select(x < -746.0, -746.0, vm_select(x > 710.0, 710.0, x));
  const VmExpReduced r = vm_exp_reduce(xc);
  const double e = vm_exp_scale(r);
  const double s = vm_pow2(vm_select(r.n < -80.0, -80.0, vm_select(r.n > 1000.0, 1000.0, r.n)));
  const double em1 = vm_select(r.n < -80.0, e - 1.0, vm_select(r.n > 1000.0, e, s * r.p + (s - 1.0)));
  const bool nan = vm_isnan(x);
  return {vm_select(nan, x, e), vm_select(nan, x, em1)};
}
CUVI_VMATH double vm_exp(double x) { return vm_exp_both(x).exp; }
CUVI_VMATH double vm_expm1(double x) { return vm_exp_both(x).expm1; }

// ---------------------------------------------------------------------------------------------------
// Logarithms. x = 2^k (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)); with s = f/(2+f) (|s| <= 0.1716),
// log(1+f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(s^2)), R(z) = sum_{i=1..10} 2 z^i/(2i+1)
// (2s = f - s f and f^2/2 - s f = s f^2/2; the first omitted term is below 0.0295^11/23 < 7e-19
// relative). log x = k ln2_hi + (f - (f^2/2 - (s (f^2/2 + R) + k ln2_lo))).

CUVI_VMATH double vm_log_poly(double k, double f) {
  const double s = f / (2.0 + f), z = s * s, hfsq = 0.5 * (f * f);
  double R = 2.0 / 21.0;
  R = R * z + 2.0 / 19.0;
  R = R * z + 2.0 / 17.0;
  R = R * z + 2.0 / 15.0;
  R = R * z + 2.0 / 13.0;
  R = R * z + 2.0 / 11.0;
  R = R * z + 2.0 / 9.0;
  R = R * z + 2.0 / 7.0;
  R = R * z + 2.0 / 5.0;
  R = R * z + 2.0 / 3.0;
  R = R * z;
  return k * kVmLn2Hi + (f - (hfsq - (s * (hfsq + R) + k * kVmLn2Lo)));
}

// The split of x > 0 (finite, normal): u = bits(x) - bits(sqrt(1/2)) + bits(1.0) has exponent field
// k + 1023, and subtracting (k << 52) from bits(x) leaves 1 + f in [sqrt(1/2), sqrt(2)).
struct VmLogSplit {
  uint64_t e;  // k + 1023
  double m;    // 1 + f
};
CUVI_VMATH VmLogSplit vm_log_split(double x) {
  const uint64_t ix = vm_bits(x);
  const uint64_t u = ix - 0x3FE6A09E667F3BCDull + 0x3FF0000000000000ull;
  return {u >> 52, vm_from_bits(ix - ((u & 0xFFF0000000000000ull) - 0x3FF0000000000000ull))};
}
// e as a double minus the bias: e | bits(2^52) is 2^52 + e.
CUVI_VMATH double vm_log_k(uint64_t e) { return vm_from_bits(0x4330000000000000ull | e) - (4503599627370496.0 + 1023.0); }

// log x: -inf at 0, NaN below 0 and for NaN, inf at inf; subnormals are scaled by 2^54 first.
CUVI_VMATH double vm_log(double x) {
  const bool sub = x < 0x1p-1022;
  const VmLogSplit sp = vm_log_split(vm_select(sub, x * 0x1p54, x));
  const double k = vm_log_k(sp.e) - vm_select(sub, 54.0, 0.0);
  double y = vm_log_poly(k, sp.m - 1.0);
  y = vm_select(x == kVmInf, kVmInf, y);
  y = vm_select(x == 0.0, -kVmInf, y);
  return vm_select(!(x >= 0.0), kVmNaN, y);  // x < 0 or NaN
}

// log(1 + v). w = 1 + v is split as above; the rounding error c of w (exact: TwoSum with the larger
// operand first) enters as f + c 2^-k, so f is 1 + v - 2^k rounded once. For 1 + v in
// [sqrt(1/2), sqrt(2)) that is f = v exactly. -inf at -1, NaN below -1 and for NaN, inf at inf.
CUVI_VMATH double vm_log1p(double v) {
  const double w = 1.0 + v;
  const double c = vm_select(vm_abs(v) <= 1.0, v - (w - 1.0), 1.0 - (w - v));
  const VmLogSplit sp = vm_log_split(w);
  // 2^-k = bits((2046 - e) << 52), valid for e in [1, 2046] (w normal, finite; 0 at e = 2046).
  const double inv2k = vm_from_bits((2046 - sp.e) << 52);
  double y = vm_log_poly(vm_log_k(sp.e), (sp.m - 1.0) + c * inv2k);
  y = vm_select(v == kVmInf, kVmInf, y);
  y = vm_select(v == -1.0, -kVmInf, y);
  return vm_select(!(v >= -1.0), kVmNaN, y);  // v < -1 or NaN
}

// log(w) for w = a + b given as an unevaluated sum with |b| <= ulp(a) (a > 0 finite normal): the
// log1p split without its special cases, for callers that select between log(w) and log1p(v).
CUVI_VMATH double vm_log_sum(double a, double b) {
  const VmLogSplit sp = vm_log_split(a);
  const double inv2k = vm_from_bits((2046 - sp.e) << 52);
  return vm_log_poly(vm_log_k(sp.e), (sp.m - 1.0) + b * inv2k);
}

// sum_{k=0..K-1} y^k / (2k + 3) by Horner's rule (the series of log1pmx in r = d/(2+d)).
template <int K>
CUVI_VMATH double vm_odd_reciprocal_series(double y) {
  double S = 1.0 / (2 * K + 1);
#pragma GCC unroll 32
  for (int k = K - 2; k >= 0; --k) S = S * y + 1.0 / (2 * k + 3);
  return S;
}

// log1p(d) - d for |d| <= 1/2 (the form of kernels/common/likelihood.h lik_log1pmx): with r = d/(2+d),
// y = r^2 <= 1/9: log1p(d) - d = r (2 y S(y) - d), S(y) = sum_{k=0..17} y^k/(2k+3) (the first omitted
// term is below 9^-18/39 < 2e-19). Outside |d| <= 1/2 the value is meaningless.
CUVI_VMATH double vm_log1pmx_series(double d) {
  const double r = d / (2.0 + d), y = r * r;
  const double S = vm_odd_reciprocal_series<18>(y);
  return r * (2.0 * y * S - d);
}

// log1p(d) - d for d >= -1: the series for |d| <= 1/2, the difference elsewhere.
CUVI_VMATH double vm_log1pmx(double d) {
  const bool near = vm_abs(d) <= 0.5;
  const double series = vm_log1pmx_series(vm_select(near, d, 0.0));
  return vm_select(near, series, vm_log1p(d) - d);
}

// ---------------------------------------------------------------------------------------------------
// Square root for x = 0, +inf and x >= 2^-1000 (callers bound x), within an ulp or two: std::sqrt
// keeps a loop scalar where errno is kept (the call for negative x). 1/sqrt x from the exponent-halving
// bit guess (relative error below 0.035), four Newton steps g (3 - x g^2)/2 (0.035 -> 2e-3 -> 5e-6 ->
// 4e-11 -> rounding), then s = x g corrected once by g (x - s^2)/2. 0 and inf are passed through (the
// guess overflows there).
CUVI_VMATH double vm_sqrt(double x) {
  double g = vm_from_bits(0x5FE6EB50C7B537A9ull - (vm_bits(x) >> 1));
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) g = g * (1.5 - (0.5 * x) * (g * g));
  const double s = x * g;
  return vm_select((x == 0.0) | (x == kVmInf), x, s + (0.5 * g) * (x - s * s));
}

// ---------------------------------------------------------------------------------------------------
// Sine and cosine. x = k pi/2 + r with k = round(x 2/pi) and r reduced in three steps (Cody-Waite):
// pi/2 = P1 + P2 + P3, P1 and P2 with 33 significant bits, so k P1 and k P2 are exact for |k| < 2^20
// and the split is good to 2^-118. On |r| <= pi/4 (+ rounding) the Taylor series of sin to r^17/17!
// and of cos to r^18/18! (the first omitted terms are below 1.1e-19 and 3.2e-21 relative). The
// quadrant k mod 4 swaps the two and sets their signs. Valid for |x| < 2^20 (callers bound x).
constexpr double kVmTwoOverPi = 0x1.45f306dc9c883p-1;
constexpr double kVmPio2P1 = 0x1.921fb54400000p+0;
constexpr double kVmPio2P2 = 0x1.0b4611a600000p-34;
constexpr double kVmPio2P3 = 0x1.3198a2e037073p-69;

struct VmSinCos {
  double sin, cos;
};
CUVI_VMATH VmSinCos vm_sincos(double x) {
  const double k = vm_round(x * kVmTwoOverPi);
  const double r = ((x - k * kVmPio2P1) - k * kVmPio2P2) - k * kVmPio2P3;
  const double z = r * r;
  // sin r = r - r z S(z), S = 1/3! - z/5! + z^2/7! - ... - z^7/17!.
  double S = -1.0 / 355687428096000.0;
  S = S * z + 1.0 / 1307674368000.0;
  S = S * z - 1.0 / 6227020800.0;
  S = S * z + 1.0 / 39916800.0;
  S = S * z - 1.0 / 362880.0;
  S = S * z + 1.0 / 5040.0;
  S = S * z - 1.0 / 120.0;
  S = S * z + 1.0 / 6.0;
  const double s = r - (r * z) * S;
  // cos r = 1 - z/2 + z^2 P(z), P = 1/4! - z/6! + z^2/8! - ... - z^7/18!; 1 - z/2 is formed as
  // w + ((1 - w) - h) (h = z/2, w = 1 - h) so that its rounding error joins the small terms.
  double P = -1.0 / 6402373705728000.0;
  P = P * z + 1.0 / 20922789888000.0;
  P = P * z - 1.0 / 87178291200.0;
  P = P * z + 1.0 / 479001600.0;
  P = P * z - 1.0 / 3628800.0;
  P = P * z + 1.0 / 40320.0;
  P = P * z - 1.0 / 720.0;
  P = P * z + 1.0 / 24.0;
  const double h = 0.5 * z, w = 1.0 - h;
  const double c = w + (((1.0 - w) - h) + (z * z) * P);
  // Quadrant q = k mod 4: sin x = (s, c, -s, -c)[q], cos x = (c, -s, -c, s)[q].
  const uint64_t q = vm_bits(k + kVmShift) & 3u;
  const bool odd = (q & 1u) != 0;
  const uint64_t sin_sign = (q >> 1) << 63, cos_sign = ((q ^ (q >> 1)) & 1u) << 63;
  return {vm_from_bits(vm_bits(vm_select(odd, c, s)) ^ sin_sign),
          vm_from_bits(vm_bits(vm_select(odd, s, c)) ^ cos_sign)};
}

// ---------------------------------------------------------------------------------------------------
// Logistic functions from e = exp(-|z|) in (0, 1].

// sigmoid(z) = 1/(1+e) for z >= 0, e/(1+e) below.
CUVI_VMATH double vm_sigmoid(double z) {
  const double e = vm_exp(-vm_abs(z));
  return vm_select(z >= 0.0, 1.0, e) / (1.0 + e);
}

// log(1 + e^z) = max(z, 0) + log1p(e^-|z|) (exact form, no threshold).
CUVI_VMATH double vm_softplus(double z) { return vm_select(z > 0.0, z, 0.0) + vm_log1p(vm_exp(-vm_abs(z))); }

}  // namespace cuvi::cpu
