// Accuracy of the likelihood ops over the range users hit (counts 0..1e5, theta 1e-4..1e6, mu 1e-6..1e5,
// logits +-50): values and gradients of the f64 CPU reference against long double references written
// here, central differences of those references, and the limits NB->Poisson, ZINB->NB, NB == GammaPoisson;
// and the fp32 device math of the fused tail (kernels/common/likelihood_f32.h) against them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "kernels/common/likelihood.h"
#include "kernels/common/likelihood_f32.h"
#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

constexpr double kDoubleUlp = 2.220446049250313e-16;  // std::numeric_limits<double>::epsilon()


using LD = long double;
constexpr double kU = 1.1102230246251565e-16;  // double unit roundoff 2^-53
constexpr LD kULd = 5.42101086242752217e-20L;   // long double (x87) unit roundoff 2^-64
// Error bounds. The double evaluation of a sum of terms has |error| <= kUlps * u * sum |term|: every
// term is a product/quotient/log of exact inputs or an lgamma (glibc and CUDA: <= 4 ulp), and the sum
// adds at most four roundings. The long double references get the same bound with 32 ulps
// (lgammal/log1pl of glibc's x87 libm are within a few ulps).
constexpr double kUlps = 16;
constexpr LD kRefUlps = 32;

Backend& cpu() {
  static std::unique_ptr<Backend> b = make_cpu_backend(1234, 2);
  return *b;
}

// Runs a registered op on (M, 1) columns in f64 with d_out = 1, so outputs and gradients are per element.
struct ColumnRun {
  std::vector<double> ll;
  std::vector<std::vector<double>> grad;  // per input, empty when not differentiable
};
ColumnRun run_columns(const std::string& name, const std::vector<std::vector<double>>& cols, double f0 = 0) {
  const OpDef& op = cuvi::op(name);
  const size_t M = cols[0].size();
  std::vector<HostTensor> in(op.n_in);
  TestCase tc;
  tc.label = "sweep";
  tc.p.f[0] = f0;
  for (int i = 0; i < op.n_in; ++i) {
    tc.shapes.push_back(Shape{int64_t(M), 1});
    tc.gens.push_back(uniform());
    if (i >= int(cols.size()) || cols[i].empty()) continue;
    in[i].present = true;
    in[i].dtype = DType::F32;
    in[i].shape = Shape{int64_t(M), 1};
    in[i].v = cols[i];
  }
  std::vector<HostTensor> dout(1);
  dout[0].present = true;
  dout[0].shape = Shape{int64_t(M)};
  dout[0].v.assign(M, 1.0);
  const RunResult r = run_op(cpu(), op, tc, in, DType::F64, &dout);
  EXPECT_TRUE(r.guards_intact) << r.guard_report;
  ColumnRun c;
  c.ll = r.out[0].v;
  c.grad.resize(op.n_in);
  for (int i = 0; i < op.n_in; ++i)
    if (i < int(r.d_in.size()) && r.d_in[i].present) c.grad[i] = r.d_in[i].v;
  return c;
}

// Per quantity: the worst error in units of its bound (tol = kUlps u scale + reference rounding), the
// worst error in units of u * scale (scale = the magnitude of the parts the value is made of), the worst
// relative error over well-conditioned points (scale <= 4 |ref|) and over all points. For comparisons
// with finite differences the bound is the difference quotient's own error, and "well-conditioned"
// means a bound below 1% of the value.
struct Tracker {
  bool fd = false;
  double worst_ratio = 0, worst_ulps = 0, worst_rel = 0, worst_rel_all = 0;
  std::string where;
  void add(double got, double ref, double tol, const std::string& at) {
    const double err = std::fabs(got - ref);
    const double scale = tol / (kUlps * kU);
    if (err / tol > worst_ratio) {
      worst_ratio = err / tol;
      where = at;
    }
    worst_ulps = std::max(worst_ulps, err / (kU * scale));
    const double rel = ref != 0 ? err / std::fabs(ref) : (err != 0 ? 1.0 : 0.0);
    worst_rel_all = std::max(worst_rel_all, rel);
    if (fd ? tol <= 0.01 * std::fabs(ref) : scale <= 4 * std::fabs(ref)) worst_rel = std::max(worst_rel, rel);
    EXPECT_LE(err, tol) << at << ": got " << got << " reference " << ref;
  }
};
void track(std::map<std::string, Tracker>& t, const std::string& name, double got, double ref, double tol,
           const std::string& at) {
  Tracker& tr = t[name];
  tr.fd = name.find("vs FD") != std::string::npos;
  tr.add(got, ref, tol, name + " at " + at);
}
void report(const std::map<std::string, Tracker>& t) {
  for (const auto& [name, tr] : t) {
    if (tr.fd)
      std::printf("[ accuracy ] %-28s rel diff %.3g where the difference quotient is within 1%%; worst err/bound %.3g\n",
                  name.c_str(), tr.worst_rel, tr.worst_ratio);
    else
      std::printf("[ accuracy ] %-28s rel err %.3g (well-conditioned) / %.3g (all); err <= %.3g u*scale (bound %g)"
                  "%s%s\n",
                  name.c_str(), tr.worst_rel, tr.worst_rel_all, tr.worst_ulps, kUlps, tr.where.empty() ? "" : "; worst ",
                  tr.where.c_str());
  }
}

// ---------------------------------------------------------------------------------------------------
// Long double references, written independently of kernels/common/likelihood.h.

// log1p(d) - d: Taylor series below 0.1 (terms shrink 10x), the direct difference above.
LD ref_log1pmx(LD d) {
  if (fabsl(d) >= 0.1L) return log1pl(d) - d;
  LD s = 0, p = d * d;
  for (int k = 2; k < 60; ++k) {
    const LD term = ((k % 2) ? p : -p) / k;
    s += term;
    if (fabsl(term) < 1e-24L * fabsl(s)) break;
    p *= d;
  }
  return s;
}
// log(num/den) - diff/den, diff = num - den formed from the inputs (not from rounded num and den), with
// the ratio computed directly where num << den.
LD ref_log_ratio_m1(LD num, LD den, LD diff) {
  const LD d = diff / den;
  return fabsl(d) >= 0.1L ? logl(num / den) - d : ref_log1pmx(d);
}
LD ref_sigmoid(LD z) { return z >= 0 ? 1.0L / (1.0L + expl(-z)) : expl(z) / (1.0L + expl(z)); }
LD ref_softplus_exact(LD z) { return z > 0 ? z + log1pl(expl(-z)) : log1pl(expl(z)); }
LD torch_softplus(LD z) { return z > 20 ? z : log1pl(expl(z)); }

// psi(theta + x) - psi(theta) - log1p(x/theta) for integer x: sum of -log1pmx(1/(theta+j)) > 0 (Kahan).
std::map<std::pair<double, double>, LD> g_cache;
LD ref_digamma_diff_minus_log(double theta, double x) {
  auto key = std::make_pair(theta, x);
  auto it = g_cache.find(key);
  if (it != g_cache.end()) return it->second;
  LD s = 0, c = 0;
  for (long j = 0; j < long(x); ++j) {
    const LD y = -ref_log1pmx(1.0L / (LD(theta) + j)) - c;
    const LD t = s + y;
    c = (t - s) - y;
    s = t;
  }
  g_cache[key] = s;
  return s;
}

// NB pieces (scvi form with eps): value, terms for the error bound, gradients.
struct RefNb {
  LD t, xterm, lg1, lg2, lg3, ll, d_mu, d_theta, theta_parts;
};
RefNb ref_nb(double xd, double mud, double thd, double epsd) {
  const LD x = xd, mu = mud, th = thd, eps = epsd, tp = th + eps;
  RefNb r{};
  r.t = -th * log1pl(mu / tp);
  if (x != 0) {
    r.xterm = x * (logl(mu + eps) - logl(th + mu + eps));
    r.lg1 = lgammal(x + th);
    r.lg2 = lgammal(th);
    r.lg3 = lgammal(x + 1);
  }
  r.ll = r.t + r.xterm + (r.lg1 - r.lg2) - r.lg3;
  r.d_mu = x == 0 ? -th / (tp + mu) : th * (x - mu - eps) / ((mu + eps) * (tp + mu));
  const LD g = ref_digamma_diff_minus_log(thd, xd);
  const LD p1 = x == 0 ? 0 : log1pl(eps * x / (th * (tp + x)));
  const LD p2 = ref_log_ratio_m1(tp + x, tp + mu, x - mu);
  const LD p3 = eps * mu / (tp * (tp + mu));
  r.d_theta = g + p1 + p2 - p3;
  r.theta_parts = fabsl(g) + fabsl(p1) + fabsl(p2) + fabsl(p3);
  return r;
}
LD ref_nb_value(LD x, LD mu, LD th, LD eps) {
  const LD t = -th * log1pl(mu / (th + eps));
  if (x == 0) return t;
  return t + x * (logl(mu + eps) - logl(th + mu + eps)) + (lgammal(x + th) - lgammal(th)) - lgammal(x + 1);
}
// Magnitude of the terms of ref_nb_value (for the error bound of a difference quotient).
LD ref_nb_scale(LD x, LD mu, LD th, LD eps) {
  LD s = fabsl(th * log1pl(mu / (th + eps)));
  if (x != 0)
    s += fabsl(x * logl(mu + eps)) + fabsl(x * logl(th + mu + eps)) + fabsl(lgammal(x + th)) + fabsl(lgammal(th)) +
         fabsl(lgammal(x + 1));
  return s;
}

// ZINB with torch's softplus threshold, written by case on the regime of (-pi, a).
LD ref_zinb_value(LD x, LD mu, LD th, LD pi, LD eps) {
  const LD sp = torch_softplus(-pi);
  if (x > eps) return ref_nb_value(x, mu, th, eps) - sp - pi;
  if (x < eps) {
    const LD t = -th * log1pl(mu / (th + eps));
    const LD a = -pi + t;
    if (-pi > 20 && a > 20) return t;                     // both softplus are identities
    if (-pi > 20) return log1pl(expl(a)) + pi;            // softplus(a) exact, softplus(-pi) = -pi
    // log((1 + e^a) / (1 + e^-pi)) = log(sigmoid(pi) + sigmoid(-pi) e^t) = log1p(-sigmoid(-pi) (1 - e^t)):
    // the log1p form while the deficit is small, the log of the positive sum otherwise.
    const LD deficit = ref_sigmoid(-pi) * -expm1l(t);
    return deficit < 0.5L ? log1pl(-deficit) : logl(ref_sigmoid(pi) + ref_sigmoid(-pi) * expl(t));
  }
  return 0;
}

struct Point {
  double x, mu, theta, pi;
  std::string str() const {
    char b[160];
    std::snprintf(b, sizeof b, "x=%g mu=%g theta=%g pi=%g", x, mu, theta, pi);
    return b;
  }
};
const std::vector<Point>& sweep() {
  static const std::vector<Point> pts = [] {
    std::vector<Point> v;
    for (double x : {0.0, 1.0, 2.0, 10.0, 1e3, 1e5})
      for (double th : {1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6})
        for (double mu : {1e-6, 1e-2, 1.0, 1e2, 1e5})
          for (double pi : {-50.0, -5.0, 0.0, 5.0, 50.0}) v.push_back({x, mu, th, pi});
    return v;
  }();
  return pts;
}
std::vector<double> column(double Point::*m) {
  std::vector<double> c;
  for (const Point& p : sweep()) c.push_back(p.*m);
  return c;
}

constexpr double kEps = 1e-8;

// ---------------------------------------------------------------------------------------------------

TEST(LikelihoodAccuracy, NegativeBinomialSweep) {
  const auto& pts = sweep();
  const ColumnRun nb = run_columns("nb_log_prob", {column(&Point::x), column(&Point::mu), column(&Point::theta)});
  std::map<std::string, Tracker> t;
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    const RefNb r = ref_nb(p.x, p.mu, p.theta, kEps);
    const double ll = nb.ll[i], dmu = nb.grad[1][i], dth = nb.grad[2][i];
    ASSERT_TRUE(std::isfinite(ll) && std::isfinite(dmu) && std::isfinite(dth)) << p.str();
    const LD S = fabsl(r.t) + fabsl(r.xterm) + fabsl(r.lg1) + fabsl(r.lg2) + fabsl(r.lg3);
    track(t, "nb ll", ll, double(r.ll), double(kUlps * kU * S + kRefUlps * kULd * S) + 1e-300, p.str());
    const LD mu_scale = fabsl(LD(p.theta) * (LD(p.x) + p.mu + kEps) / ((LD(p.mu) + kEps) * (LD(p.theta) + kEps + p.mu)));
    track(t, "nb d/dmu", dmu, double(r.d_mu), double(kUlps * kU * mu_scale) + 1e-300, p.str());
    track(t, "nb d/dtheta", dth, double(r.d_theta), double(kUlps * kU * r.theta_parts + kRefUlps * kULd * r.theta_parts) + 1e-300,
                         p.str());
  }
  report(t);
}

TEST(LikelihoodAccuracy, NegativeBinomialGradientsMatchCentralDifferencesOfReference) {
  // Richardson-extrapolated central differences of the long double forward reference. Their error is
  // bounded by |D(h) - D(2h)| (truncation) plus the rounding of the reference divided by h.
  const auto& pts = sweep();
  const ColumnRun nb = run_columns("nb_log_prob", {column(&Point::x), column(&Point::mu), column(&Point::theta)});
  std::map<std::string, Tracker> t;
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    if (p.pi != 0) continue;  // pi does not enter NB
    for (int which : {1, 2}) {
      const LD v0 = which == 1 ? p.mu : p.theta, h = 1e-4L * v0;
      auto f = [&](LD v) {
        return which == 1 ? ref_nb_value(p.x, v, p.theta, kEps) : ref_nb_value(p.x, p.mu, v, kEps);
      };
      const LD d1 = (f(v0 + h) - f(v0 - h)) / (2 * h), d2 = (f(v0 + 2 * h) - f(v0 - 2 * h)) / (4 * h);
      const LD rich = (4 * d1 - d2) / 3;
      const LD S = which == 1 ? ref_nb_scale(p.x, v0, p.theta, kEps) : ref_nb_scale(p.x, p.mu, v0, kEps);
      const LD tol = fabsl(d1 - d2) + 8 * kRefUlps * kULd * S / h + 1e-12L * fabsl(rich);
      const double g = nb.grad[which][i];
      track(t, which == 1 ? "nb d/dmu vs FD" : "nb d/dtheta vs FD", g, double(rich), double(tol) + 1e-300, p.str());
    }
  }
  report(t);
}

TEST(LikelihoodAccuracy, ZeroInflatedNegativeBinomialSweep) {
  const auto& pts = sweep();
  const ColumnRun z = run_columns(
      "zinb_log_prob", {column(&Point::x), column(&Point::mu), column(&Point::theta), column(&Point::pi)});
  std::map<std::string, Tracker> t;
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    const double ll = z.ll[i], dmu = z.grad[1][i], dth = z.grad[2][i], dpi = z.grad[3][i];
    ASSERT_TRUE(std::isfinite(ll) && std::isfinite(dmu) && std::isfinite(dth) && std::isfinite(dpi)) << p.str();
    const LD ref = ref_zinb_value(p.x, p.mu, p.theta, p.pi, kEps);
    const RefNb r = ref_nb(p.x, p.mu, p.theta, kEps);
    LD S;
    if (p.x > 0) {
      S = fabsl(r.t) + fabsl(r.xterm) + fabsl(r.lg1) + fabsl(r.lg2) + fabsl(r.lg3) + ref_softplus_exact(p.pi);
    } else {
      // The zero branch is a log of a positive sum or a log1p of a small argument: relative accuracy,
      // plus the absolute rounding of the softplus terms it is made of.
      S = fabsl(ref) + (p.pi < -20 ? LD(-p.pi) : 0);
    }
    track(t, "zinb ll", ll, double(ref), double(kUlps * kU * S + kRefUlps * kULd * S) + 1e-300, p.str());

    // Gradients: d/dmu and d/dtheta are the NB ones (x > 0) or sigmoid(a) times dt (x = 0).
    const LD tp = LD(p.theta) + kEps;
    const LD tt = -LD(p.theta) * log1pl(LD(p.mu) / tp), a = -LD(p.pi) + tt;
    LD ref_dmu, ref_dth, ref_dpi, th_scale;
    LD pi_ref_err = 0;  // rounding bound of the long double reference for d/dpi
    if (p.x > 0) {
      ref_dmu = r.d_mu;
      ref_dth = r.d_theta;
      th_scale = r.theta_parts;
      ref_dpi = -p.pi > 20 ? 0 : -ref_sigmoid(p.pi);
    } else {
      const LD s_a = (-p.pi > 20 && a > 20) ? 1 : ref_sigmoid(a);
      const LD dt_dth = ref_log_ratio_m1(tp, tp + p.mu, -LD(p.mu)) - LD(kEps) * p.mu / (tp * (tp + p.mu));
      ref_dmu = s_a * (-LD(p.theta) / (tp + p.mu));
      ref_dth = s_a * dt_dth;
      th_scale = fabsl(ref_dth);
      if (-p.pi > 20) {
        ref_dpi = a > 20 ? 0 : ref_sigmoid(-a);
      } else {
        // sigmoid(-pi) - sigmoid(a) as a plain difference in long double; its rounding goes in the bound.
        ref_dpi = ref_sigmoid(-p.pi) - ref_sigmoid(a);
        pi_ref_err = kRefUlps * kULd * (ref_sigmoid(-p.pi) + ref_sigmoid(a));
      }
    }
    const LD mu_scale = p.x > 0 ? fabsl(LD(p.theta) * (LD(p.x) + p.mu + kEps) / ((LD(p.mu) + kEps) * (tp + p.mu)))
                                : fabsl(ref_dmu);
    // At x = 0 every gradient carries sigmoid(+-a), a = -pi + t: the rounding of a (|pi| + |t| times u,
    // the same as that of rounding pi itself) is a relative error of the sigmoid.
    const LD cond_a = p.x > 0 ? 0 : fabsl(LD(p.pi)) + fabsl(tt);
    th_scale += cond_a * fabsl(ref_dth);
    track(t, "zinb d/dmu", dmu, double(ref_dmu), double(kUlps * kU * (mu_scale + cond_a * fabsl(ref_dmu))) + 1e-300,
          p.str());
    track(t, "zinb d/dtheta", dth, double(ref_dth), double((kUlps * kU + kRefUlps * kULd) * th_scale) + 1e-300,
                           p.str());
    track(t, "zinb d/dpi", dpi, double(ref_dpi), double(kUlps * kU * fabsl(ref_dpi) * (1 + cond_a) + pi_ref_err) + 1e-300,
          p.str());
  }
  report(t);
}

TEST(LikelihoodAccuracy, ZeroInflatedGradientsMatchCentralDifferencesOfReference) {
  const auto& pts = sweep();
  const ColumnRun z = run_columns(
      "zinb_log_prob", {column(&Point::x), column(&Point::mu), column(&Point::theta), column(&Point::pi)});
  std::map<std::string, Tracker> t;
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    const LD tt = -LD(p.theta) * log1pl(LD(p.mu) / (LD(p.theta) + kEps)), a = -LD(p.pi) + tt;
    if (p.x == 0 && fabsl(a - 20) < 1e-2L) continue;  // torch's softplus threshold is a (tiny) kink
    for (int which : {1, 2, 3}) {
      const LD v0 = which == 1 ? p.mu : (which == 2 ? p.theta : p.pi);
      const LD h = which == 3 ? 1e-4L : 1e-4L * v0;
      auto f = [&](LD v) {
        return ref_zinb_value(p.x, which == 1 ? v : LD(p.mu), which == 2 ? v : LD(p.theta), which == 3 ? v : LD(p.pi),
                              kEps);
      };
      const LD d1 = (f(v0 + h) - f(v0 - h)) / (2 * h), d2 = (f(v0 + 2 * h) - f(v0 - 2 * h)) / (4 * h);
      const LD rich = (4 * d1 - d2) / 3;
      const LD S = ref_nb_scale(p.x, which == 1 ? v0 : LD(p.mu), which == 2 ? v0 : LD(p.theta), kEps) + fabsl(p.pi) + 1;
      const LD tol = fabsl(d1 - d2) + 8 * kRefUlps * kULd * S / h + 1e-12L * fabsl(rich);
      const char* name = which == 1 ? "zinb d/dmu vs FD" : (which == 2 ? "zinb d/dtheta vs FD" : "zinb d/dpi vs FD");
      track(t, name, z.grad[which][i], double(rich), double(tol) + 1e-300, p.str());
    }
  }
  report(t);
}

TEST(LikelihoodAccuracy, ZinbZeroBranchIsLogOfMixtureMass) {
  // x = 0: log(sigmoid(pi) + sigmoid(-pi) NB(0)), computed here from the mixture probabilities. Torch's
  // softplus threshold changes it by at most log1p(e^-20) < 2.1e-9 where -pi > 20 or a > 20.
  std::vector<double> x, mu, th, pi;
  for (const Point& p : sweep())
    if (p.x == 0) {
      x.push_back(0);
      mu.push_back(p.mu);
      th.push_back(p.theta);
      pi.push_back(p.pi);
    }
  const ColumnRun z = run_columns("zinb_log_prob", {x, mu, th, pi});
  Tracker tr;
  for (size_t i = 0; i < x.size(); ++i) {
    const LD p0 = expl(-LD(th[i]) * log1pl(LD(mu[i]) / (LD(th[i]) + kEps)));  // NB(0)
    const LD mass = ref_sigmoid(pi[i]) + ref_sigmoid(-pi[i]) * p0;
    // log(mass) with mass = 1 - sigmoid(-pi) (1 - p0): log1p of the small deficit when mass is near 1.
    const LD deficit = ref_sigmoid(-pi[i]) * -expm1l(-LD(th[i]) * log1pl(LD(mu[i]) / (LD(th[i]) + kEps)));
    const LD ref = deficit < 0.5L ? log1pl(-deficit) : logl(mass);
    const LD a = -LD(pi[i]) - LD(th[i]) * log1pl(LD(mu[i]) / (LD(th[i]) + kEps));
    const double threshold = (-pi[i] > 20 || a > 20) ? 2.1e-9 : 0.0;
    char at[128];
    std::snprintf(at, sizeof at, "mu=%g theta=%g pi=%g", mu[i], th[i], pi[i]);
    tr.add(z.ll[i], double(ref), kUlps * kU * std::fabs(double(ref)) + threshold + 1e-300, at);
  }
  report({{"zinb zero branch vs mixture", tr}});
}

TEST(LikelihoodAccuracy, ZinbWithStronglyNegativeLogitsIsNb) {
  // pi = -50: no zero inflation. Torch's softplus(-pi) = -pi makes the nonzero branch NB exactly; the
  // zero branch is NB(0) exactly while a = 50 + t > 20, and log(e^pi + NB(0)) once NB(0) < e^-30.
  std::vector<double> x, mu, th, pi;
  for (const Point& p : sweep())
    if (p.pi == -50) {
      x.push_back(p.x);
      mu.push_back(p.mu);
      th.push_back(p.theta);
      pi.push_back(p.pi);
    }
  const ColumnRun z = run_columns("zinb_log_prob", {x, mu, th, pi});
  const ColumnRun nb = run_columns("nb_log_prob", {x, mu, th});
  for (size_t i = 0; i < x.size(); ++i) {
    const double t = nb.ll[i];
    if (x[i] > 0 || 50 + t > 20) {
      // The same formula reached through the ZINB and the NB code paths: equal up to the rounding of two
      // differently compiled loops (a few double ulps), not bit for bit.
      auto same = [](double a, double b) { return std::abs(a - b) <= 8 * kDoubleUlp * std::max(std::abs(b), 1e-300); };
      EXPECT_PRED2(same, z.ll[i], nb.ll[i]) << "x=" << x[i] << " mu=" << mu[i] << " theta=" << th[i];
      EXPECT_PRED2(same, z.grad[1][i], nb.grad[1][i]);
      EXPECT_PRED2(same, z.grad[2][i], nb.grad[2][i]);
      EXPECT_EQ(z.grad[3][i], 0.0);  // an exact zero by construction (the -pi > 20 branch)
    } else {
      const double mix = std::log(std::exp(-50.0) + std::exp(t));
      EXPECT_NEAR(z.ll[i], mix, 1e-12 * std::fabs(mix)) << "mu=" << mu[i] << " theta=" << th[i];
    }
  }
}

TEST(LikelihoodAccuracy, GammaPoissonIsNbWithoutEps) {
  // Pyro's GammaPoisson(concentration theta, rate theta/mu) is scvi's NB with eps = 0. Against NB with a
  // negligible eps the two must agree to rounding; against Pyro's literal expression (long double)
  // to the rounding of that expression, whose terms are large where theta/mu is.
  const auto& pts = sweep();
  const auto xs = column(&Point::x), mus = column(&Point::mu), ths = column(&Point::theta);
  const ColumnRun gp = run_columns("gamma_poisson_log_prob", {xs, mus, ths});
  const ColumnRun nb0 = run_columns("nb_log_prob", {xs, mus, ths}, 1e-300);
  std::map<std::string, Tracker> t;
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    if (p.pi != 0) continue;
    ASSERT_TRUE(std::isfinite(gp.ll[i]) && std::isfinite(gp.grad[1][i]) && std::isfinite(gp.grad[2][i])) << p.str();
    const LD S = ref_nb_scale(p.x, p.mu, p.theta, 0);
    track(t, "gp vs nb(eps->0) ll", gp.ll[i], nb0.ll[i], double(2 * kUlps * kU * S) + 1e-300, p.str());
    // (eps = 1e-300 moves d/dmu by ~1e-300 where x = mu: an absolute 1e-290 covers it.)
    track(t, "gp vs nb(eps->0) d/dmu", gp.grad[1][i], nb0.grad[1][i], 4 * kU * std::fabs(nb0.grad[1][i]) + 1e-290,
          p.str());
    track(t, "gp vs nb(eps->0) d/dtheta", gp.grad[2][i], nb0.grad[2][i], 4 * kU * std::fabs(nb0.grad[2][i]) + 1e-300,
                                       p.str());
    // Pyro: lgamma(theta+x+1) - lgamma(theta) - lgamma(x+1) - log(theta+x) + theta log r - (theta+x) log(1+r).
    const LD x = p.x, th = p.theta, r = th / LD(p.mu);
    const LD terms[] = {lgammal(th + x + 1), -lgammal(th), -lgammal(x + 1), -logl(th + x), th * logl(r),
                        -(th + x) * logl(1 + r)};
    LD pyro = 0, Sp = 0;
    for (LD v : terms) {
      pyro += v;
      Sp += fabsl(v);
    }
    track(t, "gp vs pyro literal ll", gp.ll[i], double(pyro), double(kUlps * kU * S + kRefUlps * kULd * Sp) + 1e-300,
                                   p.str());
  }
  report(t);
}

TEST(LikelihoodAccuracy, PoissonSweepAndNbLimit) {
  const auto& pts = sweep();
  const auto xs = column(&Point::x), mus = column(&Point::mu), ths = column(&Point::theta);
  const ColumnRun po = run_columns("poisson_log_prob", {xs, mus});
  const ColumnRun nb0 = run_columns("nb_log_prob", {xs, mus, ths}, 1e-300);
  std::map<std::string, Tracker> t;
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    if (p.pi != 0) continue;
    ASSERT_TRUE(std::isfinite(po.ll[i]) && std::isfinite(po.grad[1][i])) << p.str();
    const LD x = p.x, mu = p.mu;
    const LD xl = x == 0 ? 0 : x * logl(mu), lg = lgammal(x + 1);
    const LD ref = xl - mu - lg, S = fabsl(xl) + mu + fabsl(lg);
    track(t, "poisson ll", po.ll[i], double(ref), double(kUlps * kU * S + kRefUlps * kULd * S) + 1e-300, p.str());
    track(t, "poisson d/drate", po.grad[1][i], double((x - mu) / mu), double(kUlps * kU * (x + mu) / mu) + 1e-300,
                             p.str());
    // theta = 1e6: log NB - log Poisson = ((x-mu)^2 - x)/(2 theta) + O((x^3 + mu^3 + x mu^2)/theta^2).
    if (p.theta == 1e6 && p.x <= 100 && p.mu <= 100) {
      const double first = ((p.x - p.mu) * (p.x - p.mu) - p.x) / (2 * p.theta);
      const double second = 2 * (std::pow(p.x, 3) + std::pow(p.mu, 3) + p.x * p.mu * p.mu) / (p.theta * p.theta);
      const double round = double(kUlps * kU * (S + ref_nb_scale(p.x, p.mu, p.theta, 0)));
      track(t, "nb(theta=1e6) - poisson", nb0.ll[i] - po.ll[i], first, second + round + 1e-300, p.str());
    }
  }
  report(t);
}

TEST(LikelihoodAccuracy, PerGeneThetaGradientIsRowSumOfElementGradients) {
  // theta (G) against the same values broadcast to (N, G): the (G) gradient is the ordered row sum.
  const int64_t N = 37, G = 11;
  const OpDef& op = cuvi::op("zinb_log_prob");
  TestCase full{"full", {{N, G}, {N, G}, {N, G}, {N, G}}, {counts(500), loguniform(1e-3, 1e3), loguniform(1e-3, 1e4), uniform(-6, 6)}, {}, G};
  TestCase gene = full;
  gene.shapes[2] = Shape{G};
  auto in_gene = make_inputs(op, gene, 5);
  auto in_full = in_gene;
  in_full[2].shape = Shape{N, G};
  in_full[2].v.clear();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < G; ++j) in_full[2].v.push_back(in_gene[2].v[j]);
  std::vector<HostTensor> dout(1);
  dout[0].present = true;
  dout[0].shape = Shape{N};
  for (int64_t n = 0; n < N; ++n) dout[0].v.push_back(0.5 + 0.01 * n);
  const RunResult rg = run_op(cpu(), op, gene, in_gene, DType::F64, &dout);
  const RunResult rf = run_op(cpu(), op, full, in_full, DType::F64, &dout);
  ASSERT_TRUE(rg.guards_intact) << rg.guard_report;
  // Forward: the per-gene and the broadcast theta reach the same per-element formula through two loop
  // versions; equal to a few double ulps of the row sum.
  for (int64_t n = 0; n < N; ++n)
    EXPECT_NEAR(rg.out[0].v[n], rf.out[0].v[n], 8 * kDoubleUlp * std::sqrt(double(G)) * std::abs(rf.out[0].v[n]));
  for (int64_t j = 0; j < G; ++j) {
    double s = 0, a = 0;
    for (int64_t n = 0; n < N; ++n) {
      s += rf.d_in[2].v[n * G + j];
      a += std::fabs(rf.d_in[2].v[n * G + j]);
    }
    EXPECT_NEAR(rg.d_in[2].v[j], s, 8 * kU * a) << "gene " << j;
  }
  for (size_t k = 0; k < rg.d_in[1].v.size(); ++k) EXPECT_EQ(rg.d_in[1].v[k], rf.d_in[1].v[k]);
}

TEST(LikelihoodAccuracy, BernoulliFollowsTorchBceClamp) {
  // torch BCELoss: t max(log p, -100) + (1-t) max(log(1-p), -100); the slope is zero where clamped.
  const std::vector<double> target = {1, 0, 1, 0, 0.3, 1, 0, 0.7, 1, 0};
  const std::vector<double> p = {1e-50, 1.0, 1.0, 0.0, 1e-60, 0.5, 0.25, 1e-30, 1e-43, 1 - 1e-12};
  const ColumnRun r = run_columns("bernoulli_log_prob", {target, p});
  for (size_t i = 0; i < p.size(); ++i) {
    const LD lp = p[i] > 0 ? logl(LD(p[i])) : -INFINITY, lq = log1pl(-LD(p[i]));
    const LD clp = lp < -100 ? -100 : lp, clq = lq < -100 ? -100 : lq;
    const LD ref = LD(target[i]) * clp + (1 - LD(target[i])) * clq;
    const LD dref = (lp < -100 ? 0 : target[i] / LD(p[i])) - (lq < -100 ? 0 : (1 - target[i]) / (1 - LD(p[i])));
    ASSERT_TRUE(std::isfinite(r.ll[i]) && std::isfinite(r.grad[1][i])) << "p=" << p[i];
    EXPECT_NEAR(r.ll[i], double(ref), 4 * kU * std::fabs(double(ref)) + 1e-300) << "t=" << target[i] << " p=" << p[i];
    EXPECT_NEAR(r.grad[1][i], double(dref), 1e-9 * std::fabs(double(dref)) + 1e-300) << "t=" << target[i] << " p=" << p[i];
  }
  EXPECT_EQ(r.ll[0], -100.0);
  EXPECT_EQ(r.grad[1][0], 0.0);  // log p clamped: no gradient through it
  EXPECT_EQ(r.ll[1], -100.0);
  EXPECT_EQ(r.grad[1][1], 0.0);
}

TEST(LikelihoodAccuracy, ContinuousDensitiesAndKl) {
  // Normal, LogNormal, Gamma log-densities and the Normal KL against long double, over wide ranges,
  // including KL at qv = pv (1 + 1e-9) where r - 1 - log r needs its series.
  std::vector<double> x, loc, scale, conc, rate, qm, qv, pm, pv;
  for (double xv : {1e-6, 1e-2, 0.5, 3.0, 1e3})
    for (double a : {-3.0, 0.0, 2.5})
      for (double s : {1e-3, 0.7, 40.0}) {
        x.push_back(xv);
        loc.push_back(a);
        scale.push_back(s);
        conc.push_back(s * 3 + 0.05);
        rate.push_back(std::fabs(a) + 0.1);
        qm.push_back(a);
        qv.push_back(s * (1 + 1e-9));
        pm.push_back(a * xv * 1e-3);
        pv.push_back(s);
      }
  const ColumnRun nr = run_columns("normal_log_prob", {x, loc, scale});
  const ColumnRun ln = run_columns("lognormal_log_prob", {x, loc, scale});
  const ColumnRun ga = run_columns("gamma_log_prob", {x, conc, rate});
  const ColumnRun kl = run_columns("kl_normal", {qm, qv, pm, pv});
  std::map<std::string, Tracker> t;
  const LD c = 0.5L * logl(2 * 3.14159265358979323846264338327950288L);
  for (size_t i = 0; i < x.size(); ++i) {
    char at[160];
    std::snprintf(at, sizeof at, "x=%g loc=%g scale=%g", x[i], loc[i], scale[i]);
    {
      const LD z = (LD(x[i]) - loc[i]) / scale[i], ls = logl(LD(scale[i]));
      const LD ref = -0.5L * z * z - ls - c, S = 0.5L * z * z + fabsl(ls) + c;
      track(t, "normal ll", nr.ll[i], double(ref), double(kUlps * kU * S), at);
      track(t, "normal d/dscale", nr.grad[2][i], double((z * z - 1) / scale[i]),
                               double(kUlps * kU * (z * z + 1) / scale[i]), at);
    }
    {
      const LD y = logl(LD(x[i])), z = (y - loc[i]) / scale[i], ls = logl(LD(scale[i]));
      const LD ref = -0.5L * z * z - ls - c - y, S = 0.5L * z * z + fabsl(ls) + c + fabsl(y);
      track(t, "lognormal ll", ln.ll[i], double(ref), double(kUlps * kU * S), at);
      track(t, "lognormal d/dx", ln.grad[0][i], double((-z / scale[i] - 1) / x[i]),
                              double(kUlps * kU * (fabsl(z) / scale[i] + 1) / x[i]), at);
    }
    {
      const LD a = conc[i], b = rate[i], xv = x[i];
      const LD terms[] = {a * logl(b), (a - 1) * logl(xv), -b * xv, -lgammal(a)};
      LD ref = 0, S = 0;
      for (LD v : terms) {
        ref += v;
        S += fabsl(v);
      }
      track(t, "gamma ll", ga.ll[i], double(ref), double(kUlps * kU * S), at);
      // d/da = log b + log x - psi(a); psi by recurrence + asymptotic series in long double.
      // The size of the recurrence and series parts bounds the rounding of any such evaluation of psi.
      LD psi = 0, s = a, psi_parts = 0;
      while (s < 30) {
        psi -= 1 / s;
        psi_parts += 1 / s;
        s += 1;
      }
      const LD f = 1 / (s * s);
      psi += logl(s) - 0.5L / s - f * (1.0L / 12 - f * (1.0L / 120 - f * (1.0L / 252 - f * (1.0L / 240 - f / 132))));
      psi_parts += logl(s);
      const LD da = logl(b) + logl(xv) - psi;
      track(t, "gamma d/dconcentration", ga.grad[1][i], double(da),
                                      double(kUlps * kU * (fabsl(logl(b)) + fabsl(logl(xv)) + psi_parts)), at);
    }
    {
      const LD diff = LD(qm[i]) - pm[i], d = (LD(qv[i]) - pv[i]) / pv[i];
      const LD ref = 0.5L * (diff * diff / pv[i] - ref_log1pmx(d));
      // Both parts, (qm-pm)^2/pv and r - 1 - log r, are >= 0 and qv - pv is exact: relative accuracy.
      track(t, "kl ll", kl.ll[i], double(ref), double(kUlps * kU * fabsl(ref)) + 1e-300, at);
      track(t, "kl d/dpv", kl.grad[3][i], double(0.5L * ((LD(pv[i]) - qv[i]) - diff * diff) / (LD(pv[i]) * pv[i])),
                        double(kUlps * kU * (fabsl(LD(pv[i])) + qv[i] + diff * diff) / (LD(pv[i]) * pv[i])), at);
    }
  }
  report(t);
}

TEST(LikelihoodAccuracy, MixtureOfGaussiansMatchesLongDouble) {
  // Full-vector mixture over K components; far-apart components make the logsumexp one-sided.
  const int64_t N = 13, D = 4, K = 5;
  const OpDef& op = cuvi::op("mog_log_prob");
  TestCase tc{"mog", {{N, D}, {K}, {K, D}, {K, D}}, {uniform(-30, 30), uniform(-5, 5), uniform(-20, 20), uniform(-3, 2)}, {}, K * D};
  const auto in = make_inputs(op, tc, 9);
  const RunResult r = run_op(cpu(), op, tc, in, DType::F64);
  const LD c = 0.5L * logl(2 * 3.14159265358979323846264338327950288L);
  Tracker tr;
  for (int64_t n = 0; n < N; ++n) {
    LD amax = -INFINITY;
    for (int64_t k = 0; k < K; ++k) amax = std::max<LD>(amax, in[1].v[k]);
    LD as = 0;
    for (int64_t k = 0; k < K; ++k) as += expl(LD(in[1].v[k]) - amax);
    std::vector<LD> lp(K);
    LD m = -INFINITY, S = 0;
    for (int64_t k = 0; k < K; ++k) {
      LD acc = LD(in[1].v[k]) - amax - logl(as);
      for (int64_t d = 0; d < D; ++d) {
        const LD ls = in[3].v[k * D + d], z = (LD(in[0].v[n * D + d]) - in[2].v[k * D + d]) / expl(ls);
        acc += -0.5L * z * z - ls - c;
        S += 0.5L * z * z + fabsl(ls) + c;
      }
      lp[k] = acc;
      m = std::max(m, acc);
    }
    LD s = 0;
    for (LD v : lp) s += expl(v - m);
    const LD ref = m + logl(s);
    tr.add(r.out[0].v[n], double(ref), double(kUlps * kU * S), "row " + std::to_string(n));
  }
  report({{"mog ll", tr}});
}

// ---------------------------------------------------------------------------------------------------
// fp32 NB / ZINB of the fused tail (likelihood_f32.h, what the CUDA training step runs) against the long
// double NB reference and the double ZINB parts (themselves checked against long double above), on
// fp32-exact inputs over counts 0..1e5, theta 1e-3..1e4, mu 1e-4..1e5, logits -30..30.
//
// Bound, derived from the evaluation: each term of the sum (a logf / log1pf / expf of an argument carrying
// at most 3 roundings: <= 2 ulp + 3 u; lgammaf in stirlerr: <= 6 ulp on CUDA, glibc's within that, plus
// the rounding of z + 1 seen through psi(z+1)(z+1) <= 2.5 |lgamma| for z < 10; the bd0 series and the
// psi steps: <= 4 u) carries at most 8 u of its own magnitude, and adding up to 10 terms at most 10 u of
// the magnitude of the sum of terms: |error| <= 18 u * scale, scale = sum |term| (reported by the
// function itself; with |x - n p| and |theta - n q| for the rounding of n p, n q seen through bd0).
// Gradients: a few roundings each, plus their sensitivity to the rounded t of the zero branch (|t| u).
constexpr double kU32 = 5.9604644775390625e-08;  // 2^-24
constexpr double kUlpsF32 = 18;

// Worst error per quantity in units of u32 * scale (the bound is kUlpsF32 of them).
struct F32Tracker {
  std::map<std::string, std::pair<double, std::string>> worst;
  void add(const std::string& name, double got, double ref, double scale, const std::string& at) {
    const double err = std::fabs(got - ref), units = err / (kU32 * scale + 1e-300);
    EXPECT_LE(err, kUlpsF32 * kU32 * scale + 1e-30) << name << " at " << at << ": got " << got << " reference " << ref
                                                    << " scale " << scale;
    auto& w = worst[name];
    if (units >= w.first) w = {units, at};
  }
  void report() const {
    for (const auto& [name, w] : worst)
      std::printf("[ accuracy ] %-26s err <= %.3g u32*scale (bound %g); worst at %s\n", name.c_str(), w.first,
                  kUlpsF32, w.second.c_str());
  }
};

struct F32Point {
  float x, mu, theta, pi;
  std::string str() const {
    char b[160];
    std::snprintf(b, sizeof b, "x=%.9g mu=%.9g theta=%.9g pi=%.9g", x, mu, theta, pi);
    return b;
  }
};
std::vector<F32Point> f32_sweep(bool with_pi) {
  std::vector<F32Point> v;
  const std::vector<float> pis = with_pi ? std::vector<float>{-30.f, -5.f, 0.f, 3.f, 30.f} : std::vector<float>{0.f};
  for (float x : {0.f, 1.f, 2.f, 3.f, 7.f, 15.f, 33.f, 100.f, 1234.f, 1e4f, 1e5f})
    for (float th : {1e-3f, 1.3e-2f, 0.11f, 0.77f, 1.f, 3.7f, 9.99f, 10.f, 37.f, 250.f, 1e3f, 1e4f})
      for (float mu : {1e-4f, 1.7e-2f, 0.5f, 3.f, 42.f, 999.f, 1.2e4f, 1e5f})
        for (float pi : pis) v.push_back({x, mu, th, pi});
  return v;
}

TEST(LikelihoodAccuracyF32, NegativeBinomialAgainstLongDouble) {
  F32Tracker t;
  double worst_rel_ll = 0;
  for (const F32Point& p : f32_sweep(false)) {
    float scale = 0;
    const LikfNb f = likf_nb(p.x, p.mu, p.theta, 1e-8f, &scale);
    ASSERT_TRUE(std::isfinite(f.ll) && std::isfinite(f.mu_dmu) && std::isfinite(f.th_dth)) << p.str();
    const RefNb r = ref_nb(p.x, p.mu, p.theta, kEps);
    t.add("f32 nb ll", f.ll, double(r.ll), scale, p.str());
    const double err = std::fabs(f.ll - double(r.ll));
    if (scale <= 4 * std::fabs(double(r.ll))) worst_rel_ll = std::max(worst_rel_ll, err / std::fabs(double(r.ll)));
    const LD mu = p.mu, th = p.theta;
    const LD mu_scale = th * mu * (LD(p.x) + mu + kEps) / ((mu + kEps) * (th + kEps + mu));
    t.add("f32 nb mu dll/dmu", f.mu_dmu, double(mu * r.d_mu), double(mu_scale), p.str());
    t.add("f32 nb theta dll/dtheta", f.th_dth, double(th * r.d_theta), double(th * r.theta_parts), p.str());
  }
  t.report();
  std::printf("[ accuracy ] f32 nb ll: worst relative error %.3g where scale <= 4 |ll|\n", worst_rel_ll);
  EXPECT_LT(worst_rel_ll, 4 * kUlpsF32 * kU32);
}

TEST(LikelihoodAccuracyF32, ZeroInflatedAgainstDoubleParts) {
  F32Tracker t;
  for (const F32Point& p : f32_sweep(true)) {
    float scale = 0;
    const LikfZinb f = likf_zinb(p.x, p.mu, p.theta, p.pi, 1e-8f, &scale);
    ASSERT_TRUE(std::isfinite(f.ll) && std::isfinite(f.mu_dmu) && std::isfinite(f.th_dth) && std::isfinite(f.d_pi))
        << p.str();
    const ZinbParts z = zinb_parts(p.x, p.mu, p.theta, p.pi, 1e-8, true, true, true, true);
    const double mu = p.mu, th = p.theta, tp = th + 1e-8;
    // |t| u: the rounding of t reaches every zero-branch result through sigmoid(a) (slope <= 1/4).
    const double tt = p.x == 0 ? std::fabs(th * std::log1p(mu / tp)) : 0.0;
    t.add("f32 zinb ll", f.ll, z.ll, scale, p.str());
    const double mu_scale = std::fabs(th * mu * (p.x + mu + 1e-8) / ((mu + 1e-8) * (tp + mu)));
    t.add("f32 zinb mu dll/dmu", f.mu_dmu, mu * z.d_mu, mu_scale * (1 + tt), p.str());
    const NbParts nb = nb_parts(p.x, mu, th, 1e-8, false, false, true);
    const double g = p.x > 0 ? lik_digamma_diff_minus_log(th, p.x) : 0.0;
    const double th_scale = th * (std::fabs(g) + std::fabs(nb.d_theta - g));
    t.add("f32 zinb theta dll/dtheta", f.th_dth, th * z.d_theta, th_scale * (1 + tt), p.str());
    t.add("f32 zinb dll/dpi", f.d_pi, z.d_pi, std::fabs(z.d_pi) + 0.25 * tt, p.str());
  }
  t.report();
}

TEST(LikelihoodShapes, RulesNameTheMismatch) {
  // Shape rules only look at shapes and dtypes: a dummy pointer stands in for the data.
  static float dummy[1];
  auto t = [](Shape s, DType d = DType::F32) { return Tensor(dummy, d, Device::CPU, s); };
  auto message = [](const std::string& op, std::vector<Tensor> in, OpParams p = {}) -> std::string {
    in.resize(kMaxOpInputs);
    try {
      infer_shapes(cuvi::op(op), in.data(), p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message("nb_log_prob", {t({4, 7}), t({4, 7}), t({7})}), "");
  EXPECT_EQ(message("nb_log_prob", {t({4, 7}), t({4, 7}), t({1})}), "");
  EXPECT_NE(message("nb_log_prob", {t({4, 7}), t({4, 7}), t({8})}).find("theta must have shape (4, 7), (7) or (1)"),
            std::string::npos);
  EXPECT_NE(message("nb_log_prob", {t({4, 7}), t({7}), t({7})}).find("mu must have shape (4, 7) to match"),
            std::string::npos);
  EXPECT_NE(message("zinb_log_prob", {t({4, 7}), t({4, 7}), t({7}), t({4, 7}, DType::F64)}).find("pi is f64"),
            std::string::npos);
  EXPECT_NE(message("kl_normal", {t({4, 7}), t({4, 7}), t({7}), t({6})}).find("pv must have shape"), std::string::npos);
  EXPECT_EQ(message("kl_normal", {t({4, 7}), t({4, 7}), Tensor(), Tensor()}), "");
  EXPECT_NE(message("mog_log_prob", {t({4, 3}), t({5}), t({5, 2}), t({5, 2})}).find("means (5, 2) must be (K, 3)"),
            std::string::npos);
  EXPECT_NE(message("mog_log_prob", {t({4, 3}), t({6}), t({5, 3}), t({5, 3})}).find("logits must be (5) or (4, 5)"),
            std::string::npos);
  OpParams drop;
  drop.f[0] = 1.0;
  EXPECT_NE(message("keep_mask_like", {t({4, 3})}, drop).find("drop probability"), std::string::npos);
  EXPECT_NE(message("sample_nb", {t({4, 7}), t({3})}).find("theta must have shape (4, 7), (7) or (1)"),
            std::string::npos);
}

}  // namespace
}  // namespace cuvi::test
