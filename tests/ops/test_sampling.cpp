// Sampling ops on the CPU reference: Philox noise and dropout masks (identity with philox_normal /
// philox_keep, determinism, step and stream dependence), moments of the Gamma, Poisson, NB and ZINB
// samplers, and independence of every draw from the OpenMP thread count and the tensor size.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/common/philox.h"
#include "kernels/common/sampling.h"
#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

constexpr uint64_t kSeed = 0x5eed5eedull;

HostTensor host(const Shape& s, std::vector<double> v) {
  HostTensor h;
  h.present = true;
  h.shape = s;
  h.v = std::move(v);
  return h;
}
HostTensor filled(const Shape& s, double v) { return host(s, std::vector<double>(size_t(s.numel()), v)); }

std::vector<double> run_sampler(Backend& b, const std::string& name, const std::vector<HostTensor>& in,
                                int64_t stream, double f0 = 0, DType t = DType::F64) {
  const OpDef& op = cuvi::op(name);
  TestCase tc;
  tc.label = name;
  tc.p.i[0] = stream;
  tc.p.f[0] = f0;
  for (const HostTensor& h : in) {
    tc.shapes.push_back(h.shape);
    tc.gens.push_back(uniform());
  }
  const RunResult r = run_op(b, op, tc, in, t);
  EXPECT_TRUE(r.guards_intact) << r.guard_report;
  return r.out[0].v;
}

void set_step(Backend& b, int64_t step) {
  StepScalars s = b.read_scalars();
  s.step = step;
  b.write_scalars(s);
}

struct Moments {
  double mean = 0, var = 0, m4 = 0;  // mean, unbiased variance, fourth central moment
};
Moments moments(const std::vector<double>& v) {
  Moments m;
  long double s = 0;
  for (double x : v) s += x;
  m.mean = double(s / v.size());
  long double s2 = 0, s4 = 0;
  for (double x : v) {
    const long double d = x - m.mean;
    s2 += d * d;
    s4 += d * d * d * d;
  }
  m.var = double(s2 / (v.size() - 1));
  m.m4 = double(s4 / v.size());
  return m;
}
// Sample mean within 4 standard errors of `mean`, sample variance within 4 standard errors of `var`
// (the standard error of a variance estimate is sqrt((mu4 - var^2) / n), mu4 from the sample).
void expect_moments(const std::vector<double>& v, double mean, double var, const std::string& what) {
  const double n = double(v.size());
  const Moments m = moments(v);
  EXPECT_NEAR(m.mean, mean, 4 * std::sqrt(var / n)) << what << ": mean";
  EXPECT_NEAR(m.var, var, 4 * std::sqrt(std::max(m.m4 - m.var * m.var, 0.0) / n)) << what << ": variance";
}

// Pearson chi-square of integer draws against a pmf over the bins with an expected count >= 5 (the rest
// pooled into one bin). Returns statistic - df in units of sqrt(2 df), the chi-square's standard deviation.
template <class Pmf>
double chi_square_sigmas(const std::vector<double>& v, Pmf pmf, double kmax) {
  const double n = double(v.size());
  std::vector<double> count(size_t(kmax) + 1, 0.0);
  for (double x : v)
    if (x <= kmax) count[size_t(x)] += 1;
  double stat = 0, rest_obs = n, rest_exp = n;
  int df = -1;
  for (size_t k = 0; k < count.size(); ++k) {
    const double e = n * pmf(double(k));
    if (e < 5) continue;
    stat += (count[k] - e) * (count[k] - e) / e;
    rest_obs -= count[k];
    rest_exp -= e;
    ++df;
  }
  if (rest_exp >= 5) {
    stat += (rest_obs - rest_exp) * (rest_obs - rest_exp) / rest_exp;
    ++df;
  }
  return (stat - df) / std::sqrt(2.0 * df);
}

class SamplingCpu : public ::testing::Test {
 protected:
  void SetUp() override {
    threads_before_ = omp_get_max_threads();
    backend_ = make_cpu_backend(kSeed, 2);
  }
  void TearDown() override {
    backend_.reset();
    omp_set_num_threads(threads_before_);
  }
  Backend& cpu() { return *backend_; }
  std::unique_ptr<Backend> backend_;
  int threads_before_ = 1;
};

TEST_F(SamplingCpu, RandnLikeIsPhiloxNormalAndDeterministic) {
  set_step(cpu(), 5);
  const HostTensor like = filled(Shape{37, 53}, 0.0);
  const auto a = run_sampler(cpu(), "randn_like", {like}, 3, 0, DType::F32);
  const auto b = run_sampler(cpu(), "randn_like", {like}, 3, 0, DType::F32);
  ASSERT_EQ(a.size(), size_t(37 * 53));
  for (size_t e = 0; e < a.size(); ++e) {
    // Bitwise on purpose: the same counter-based draw through the same code path.
    ASSERT_EQ(a[e], b[e]) << "element " << e << " differs between two runs";
    ASSERT_EQ(float(a[e]), float(philox_normal(kSeed, 5, 3, e))) << "element " << e;
  }
  const auto d64 = run_sampler(cpu(), "randn_like", {like}, 3);
  for (size_t e = 0; e < a.size(); ++e) ASSERT_EQ(d64[e], philox_normal(kSeed, 5, 3, e)) << "f64 element " << e;
  // Another step or stream gives other numbers.
  const auto s4 = run_sampler(cpu(), "randn_like", {like}, 4, 0, DType::F32);
  set_step(cpu(), 6);
  const auto t6 = run_sampler(cpu(), "randn_like", {like}, 3, 0, DType::F32);
  int same_stream = 0, same_step = 0;
  for (size_t e = 0; e < a.size(); ++e) {
    same_stream += a[e] == s4[e];
    same_step += a[e] == t6[e];
  }
  EXPECT_EQ(same_stream, 0);
  EXPECT_EQ(same_step, 0);
}

TEST_F(SamplingCpu, RandnLikeIsStandardNormal) {
  const auto v = run_sampler(cpu(), "randn_like", {filled(Shape{400, 500}, 0.0)}, 9);
  expect_moments(v, 0.0, 1.0, "randn_like");
  // Tail mass beyond 3: 2 * (1 - Phi(3)) = 0.0026998.
  double tail = 0;
  for (double x : v) tail += std::fabs(x) > 3;
  const double p = 0.0026997960632601866, n = double(v.size());
  EXPECT_NEAR(tail / n, p, 4 * std::sqrt(p * (1 - p) / n));
}

TEST_F(SamplingCpu, KeepMaskLikeDropsWithProbabilityP) {
  set_step(cpu(), 11);
  for (double p : {0.03, 0.1, 0.5}) {
    const auto m = run_sampler(cpu(), "keep_mask_like", {filled(Shape{301, 333}, 0.0)}, 2, p, DType::F32);
    const float keep = float(1.0 / (1.0 - p));
    double zeros = 0;
    for (size_t e = 0; e < m.size(); ++e) {
      ASSERT_TRUE(m[e] == 0.0 || m[e] == double(keep)) << "p " << p << " element " << e << " = " << m[e];
      ASSERT_EQ(m[e] == 0.0, !philox_keep(kSeed, 11, 2, e, p)) << "p " << p << " element " << e;
      zeros += m[e] == 0.0;
    }
    const double n = double(m.size());
    EXPECT_NEAR(zeros / n, p, 4 * std::sqrt(p * (1 - p) / n)) << "p " << p;
  }
  const auto none = run_sampler(cpu(), "keep_mask_like", {filled(Shape{64}, 0.0)}, 2, 0.0, DType::F32);
  for (double x : none) EXPECT_EQ(x, 1.0);
}

TEST_F(SamplingCpu, GammaSamplerMoments) {
  // Gamma(a, 1): mean a, variance a; exercises the u^(1/a) boost below 1 and large shapes.
  const int n = 200000;
  for (double a : {0.01, 0.3, 1.0, 3.7, 150.0, 1e6}) {
    std::vector<double> v(n);
    for (int e = 0; e < n; ++e) {
      v[e] = sample_gamma(a, PhiloxSite{kSeed, 0, 17, uint64_t(e) * kDrawsPerElement});
      ASSERT_TRUE(std::isfinite(v[e]) && v[e] >= 0) << "shape " << a << " draw " << e;
    }
    expect_moments(v, a, a, "Gamma(" + std::to_string(a) + ")");
  }
  EXPECT_TRUE(std::isnan(sample_gamma(0.0, PhiloxSite{kSeed, 0, 17, 0})));
  EXPECT_TRUE(std::isnan(sample_gamma(NAN, PhiloxSite{kSeed, 0, 17, 0})));
}

TEST_F(SamplingCpu, SamplePoissonSmallAndLargeRates) {
  const int64_t n = 100000;
  for (double lam : {0.05, 0.5, 3.0, 9.99, 10.0, 25.0, 1e3, 1e5}) {
    const auto v = run_sampler(cpu(), "sample_poisson", {filled(Shape{n}, lam)}, 5);
    for (double x : v) ASSERT_TRUE(x >= 0 && x == std::floor(x)) << "rate " << lam << " gave " << x;
    expect_moments(v, lam, lam, "Poisson(" + std::to_string(lam) + ")");
    const double chi = chi_square_sigmas(
        v, [lam](double k) { return std::exp(k * std::log(lam) - lam - std::lgamma(k + 1)); }, lam + 20 * std::sqrt(lam) + 20);
    EXPECT_LT(chi, 6.0) << "rate " << lam << ": the draws do not follow the Poisson pmf (chi-square)";
    // P(X = 0) = e^-lam, P(X = floor(lam)) from the pmf: the shape, not only the moments.
    for (double k : {0.0, std::floor(lam)}) {
      const double pk = std::exp(k * std::log(lam) - lam - std::lgamma(k + 1));
      double hits = 0;
      for (double x : v) hits += x == k;
      EXPECT_NEAR(hits / n, pk, 4 * std::sqrt(pk * (1 - pk) / n) + 1e-12) << "rate " << lam << " P(" << k << ")";
    }
  }
  // Rates above 1e8 are clamped (scvi); zero rate gives zero; NaN and negative rates give NaN.
  const auto big = run_sampler(cpu(), "sample_poisson", {filled(Shape{20000}, 1e12)}, 5);
  expect_moments(big, 1e8, 1e8, "Poisson(clamped 1e12)");
  const auto odd = run_sampler(cpu(), "sample_poisson", {host(Shape{3}, {0.0, NAN, -1.0})}, 5);
  EXPECT_EQ(odd[0], 0.0);
  EXPECT_TRUE(std::isnan(odd[1]));
  EXPECT_TRUE(std::isnan(odd[2]));
}

TEST_F(SamplingCpu, SampleNbMeanAndVariance) {
  const int64_t rows = 500, genes = 200;  // 100000 draws, theta given per gene (G) and per element
  for (auto [mu, theta] : {std::pair{5.0, 2.0}, {50.0, 0.5}, {0.3, 10.0}, {1e3, 1e2}, {100.0, 1e6}}) {
    const double var = mu + mu * mu / theta;
    const auto per_gene = run_sampler(cpu(), "sample_nb", {filled(Shape{rows, genes}, mu), filled(Shape{genes}, theta)}, 7);
    const auto full =
        run_sampler(cpu(), "sample_nb", {filled(Shape{rows, genes}, mu), filled(Shape{rows, genes}, theta)}, 7);
    EXPECT_EQ(per_gene, full) << "theta (G) and (N, G) must draw the same numbers";
    for (double x : per_gene) ASSERT_TRUE(x >= 0 && x == std::floor(x));
    expect_moments(per_gene, mu, var, "NB(mu " + std::to_string(mu) + ", theta " + std::to_string(theta) + ")");
    const double chi = chi_square_sigmas(
        per_gene,
        [mu = mu, theta = theta](double k) {
          return std::exp(std::lgamma(k + theta) - std::lgamma(theta) - std::lgamma(k + 1) +
                          theta * std::log(theta / (theta + mu)) + k * std::log(mu / (theta + mu)));
        },
        mu + 40 * std::sqrt(var) + 20);
    EXPECT_LT(chi, 6.0) << "NB(" << mu << ", " << theta << "): the draws do not follow the NB pmf (chi-square)";
  }
}

TEST_F(SamplingCpu, SampleNbStaysFiniteOverTheRange) {
  std::vector<double> mu, theta;
  for (double m : {0.0, 1e-6, 1e-2, 1.0, 1e2, 1e5})
    for (double t : {1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6}) {
      mu.push_back(m);
      theta.push_back(t);
    }
  const int64_t n = int64_t(mu.size());
  for (int64_t step = 0; step < 20; ++step) {
    set_step(cpu(), step);
    const auto v = run_sampler(cpu(), "sample_nb", {host(Shape{1, n}, mu), host(Shape{1, n}, theta)}, 8);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(std::isfinite(v[i]) && v[i] >= 0 && v[i] == std::floor(v[i]))
          << "mu " << mu[i] << " theta " << theta[i] << " gave " << v[i];
      if (mu[i] == 0) {
        EXPECT_EQ(v[i], 0.0);
      }
    }
  }
}

TEST_F(SamplingCpu, SampleZinbZeroFraction) {
  const int64_t rows = 400, genes = 250;
  const double mu = 5, theta = 2;
  for (double pi : {-2.0, 0.5, 3.0}) {
    const auto v = run_sampler(cpu(), "sample_zinb",
                               {filled(Shape{rows, genes}, mu), filled(Shape{genes}, theta), filled(Shape{rows, genes}, pi)}, 9);
    const double drop = 1 / (1 + std::exp(-pi)), nb0 = std::pow(theta / (theta + mu), theta);
    const double p0 = drop + (1 - drop) * nb0, n = double(v.size());
    double zeros = 0;
    for (double x : v) zeros += x == 0;
    EXPECT_NEAR(zeros / n, p0, 4 * std::sqrt(p0 * (1 - p0) / n)) << "pi " << pi;
    // Mean (1 - drop) mu, variance (1 - drop)(mu + mu^2/theta) + drop (1 - drop) mu^2.
    const double var = (1 - drop) * (mu + mu * mu / theta) + drop * (1 - drop) * mu * mu;
    expect_moments(v, (1 - drop) * mu, var, "ZINB pi " + std::to_string(pi));
  }
}

TEST(SamplingThreads, DrawsDoNotDependOnThreadCountOrTensorSize) {
  const int before = omp_get_max_threads();
  const int64_t N = 301, G = 57;
  std::vector<double> mu, theta(G), pi;
  for (int64_t k = 0; k < N * G; ++k) {
    mu.push_back(std::exp(std::sin(0.37 * k) * 6));
    pi.push_back(4 * std::cos(0.11 * k));
  }
  for (int64_t g = 0; g < G; ++g) theta[g] = std::exp(std::cos(1.3 * g) * 5);
  const std::vector<HostTensor> nb_in = {host(Shape{N, G}, mu), host(Shape{G}, theta), host(Shape{N, G}, pi)};
  std::vector<std::vector<double>> runs[2];
  for (int threads : {1, 2}) {
    std::unique_ptr<Backend> b = make_cpu_backend(kSeed, threads);
    ASSERT_EQ(omp_get_max_threads(), threads);
    set_step(*b, 3);
    auto& r = runs[threads - 1];
    r.push_back(run_sampler(*b, "sample_zinb", nb_in, 1, 0, DType::F32));
    r.push_back(run_sampler(*b, "sample_nb", {nb_in[0], nb_in[1]}, 1, 0, DType::F32));
    r.push_back(run_sampler(*b, "sample_poisson", {nb_in[0]}, 1, 0, DType::F32));
    r.push_back(run_sampler(*b, "randn_like", {nb_in[0]}, 1, 0, DType::F32));
    r.push_back(run_sampler(*b, "keep_mask_like", {nb_in[0]}, 1, 0.2, DType::F32));
    // A prefix of the rows draws the same numbers: element e only reads its own counter range.
    const std::vector<double> head(mu.begin(), mu.begin() + 10 * G), head_pi(pi.begin(), pi.begin() + 10 * G);
    const auto part = run_sampler(*b, "sample_zinb", {host(Shape{10, G}, head), nb_in[1], host(Shape{10, G}, head_pi)},
                                  1, 0, DType::F32);
    // Bitwise on purpose: element e reads only its own counter range, whatever the rows around it.
    for (int64_t k = 0; k < 10 * G; ++k) ASSERT_EQ(part[k], r[0][k]) << "element " << k;
  }
  for (size_t i = 0; i < runs[0].size(); ++i) EXPECT_EQ(runs[0][i], runs[1][i]) << "op " << i << " depends on threads";
  omp_set_num_threads(before);
}

TEST(SamplingLayout, DrawRangesOfAnElementDoNotOverlap) {
  // Normals use Philox blocks 0-3, Gamma uniforms 4-7, the boost and zero-inflation uniforms block 8,
  // Poisson uniforms 9-15 of the element's 16 blocks: no word is read twice.
  static_assert(kDrawsPerElement == 64, "16 Philox blocks per element");
  EXPECT_EQ(kGammaNormal0 + kGammaTries, kGammaUniform0);
  EXPECT_EQ(kGammaUniform0 + kGammaTries, kGammaBoost);
  EXPECT_LT(kZeroInflation, kPoissonUniform0);
  EXPECT_EQ(kPoissonUniform0 % 4, 0);
  EXPECT_LE(kPoissonUniform0 + 2 * kPoissonTries, int(kDrawsPerElement));
}

}  // namespace
}  // namespace cuvi::test
