// GPU checks of the sampling and likelihood families (label gpu; skipped without a device): CUDA draws
// the same Philox noise, masks and counts as the CPU reference, reading the RNG step from device memory,
// and the likelihood kernels agree with the CPU reference over the extreme-parameter sweep.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "tests/ops/harness.h"

namespace cuvi::test {
namespace {

constexpr uint64_t kSeed = 0xC0FFEE1234ull;

Backend* cuda() {
  static std::unique_ptr<Backend> b = [] {
    std::unique_ptr<Backend> r;
    if (cuda_device_available()) r = make_cuda_backend(kSeed);
    return r;
  }();
  return b.get();
}
Backend& cpu() {
  static std::unique_ptr<Backend> b = make_cpu_backend(kSeed, 2);
  return *b;
}

HostTensor host(const Shape& s, std::vector<double> v) {
  HostTensor h;
  h.present = true;
  h.shape = s;
  h.v = std::move(v);
  return h;
}

void set_step(Backend& b, int64_t step) {
  StepScalars s = b.read_scalars();
  s.step = step;
  b.write_scalars(s);
}

RunResult run(Backend& b, const std::string& name, const std::vector<HostTensor>& in, int64_t stream, double f0,
              const std::vector<HostTensor>* dout = nullptr) {
  const OpDef& op = cuvi::op(name);
  TestCase tc;
  tc.label = name;
  tc.p.i[0] = stream;
  tc.p.f[0] = f0;
  for (const HostTensor& h : in) {
    tc.shapes.push_back(h.shape);
    tc.gens.push_back(uniform());
  }
  RunResult r = run_op(b, op, tc, in, DType::F32, dout);
  EXPECT_TRUE(r.guards_intact) << r.guard_report;
  return r;
}

uint32_t bits(double v) {
  const float f = static_cast<float>(v);
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

class SamplingCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_F(SamplingCuda, RandnAndKeepMaskAreBitIdenticalToCpu) {
  // Box-Muller runs in double on both sides; CUDA's log/sin/cos may differ from glibc by an ulp of the
  // double, which changes the float only when the double sits within that ulp of a float rounding
  // boundary (probability < 1e-8 per element): over these 3 x 105k draws every float must be equal.
  const Shape s{317, 331};
  const HostTensor like = host(s, std::vector<double>(size_t(s.numel()), 0.0));
  for (int64_t step : {0, 7, 123456}) {
    set_step(cpu(), step);
    set_step(*cuda(), step);
    const auto a = run(cpu(), "randn_like", {like}, 3, 0).out[0].v;
    const auto b = run(*cuda(), "randn_like", {like}, 3, 0).out[0].v;
    const auto c = run(*cuda(), "randn_like", {like}, 3, 0).out[0].v;
    size_t diff = 0;
    for (size_t e = 0; e < a.size(); ++e) {
      diff += bits(a[e]) != bits(b[e]);
      ASSERT_EQ(bits(b[e]), bits(c[e])) << "CUDA run is not deterministic at element " << e;
    }
    EXPECT_EQ(diff, 0u) << "randn_like: CPU and CUDA differ at step " << step;
    const auto ma = run(cpu(), "keep_mask_like", {like}, 4, 0.1).out[0].v;
    const auto mb = run(*cuda(), "keep_mask_like", {like}, 4, 0.1).out[0].v;
    for (size_t e = 0; e < ma.size(); ++e) ASSERT_EQ(bits(ma[e]), bits(mb[e])) << "keep_mask_like element " << e;
  }
}

TEST_F(SamplingCuda, StepIsReadFromDeviceMemory) {
  // The kernels read ctx->scalars->step on the device: a new step written there changes the draws
  // without any host-side argument changing.
  const HostTensor like = host(Shape{4099}, std::vector<double>(4099, 0.0));
  set_step(*cuda(), 41);
  const auto s41 = run(*cuda(), "randn_like", {like}, 2, 0).out[0].v;
  set_step(*cuda(), 42);
  const auto s42 = run(*cuda(), "randn_like", {like}, 2, 0).out[0].v;
  set_step(cpu(), 42);
  const auto c42 = run(cpu(), "randn_like", {like}, 2, 0).out[0].v;
  size_t same = 0;
  for (size_t e = 0; e < s41.size(); ++e) {
    same += s41[e] == s42[e];
    ASSERT_EQ(bits(s42[e]), bits(c42[e])) << "element " << e;
  }
  EXPECT_EQ(same, 0u);
}

TEST_F(SamplingCuda, CountSamplersMatchCpu) {
  // Same per-element algorithms and Philox ranges: the counts agree except where an accept/reject
  // comparison falls within an ulp of its threshold on one side (libm vs CUDA math differ by ~1 ulp),
  // which is vanishingly rare; none is expected here.
  const int64_t N = 257, G = 389;
  std::vector<double> mu, theta(G), pi, rate;
  for (int64_t k = 0; k < N * G; ++k) {
    mu.push_back(static_cast<float>(std::exp(std::sin(0.37 * k) * 9)));       // ~1e-4 .. 8e3
    pi.push_back(static_cast<float>(5 * std::cos(0.11 * k)));
    rate.push_back(static_cast<float>(std::exp(std::sin(0.53 * k) * 12)));    // ~6e-6 .. 1.6e5
  }
  for (int64_t g = 0; g < G; ++g) theta[g] = static_cast<float>(std::exp(std::cos(1.3 * g) * 9));
  const HostTensor hm = host(Shape{N, G}, mu), ht = host(Shape{G}, theta), hp = host(Shape{N, G}, pi),
                   hr = host(Shape{N, G}, rate);
  set_step(cpu(), 5);
  set_step(*cuda(), 5);
  struct Case {
    const char* op;
    std::vector<HostTensor> in;
  };
  const Case cases[] = {{"sample_poisson", {hr}}, {"sample_nb", {hm, ht}}, {"sample_zinb", {hm, ht, hp}}};
  for (const Case& c : cases) {
    const auto a = run(cpu(), c.op, c.in, 6, 0).out[0].v;
    const auto b = run(*cuda(), c.op, c.in, 6, 0).out[0].v;
    size_t diff = 0, first = a.size();
    for (size_t e = 0; e < a.size(); ++e)
      if (bits(a[e]) != bits(b[e])) {
        if (!diff) first = e;
        ++diff;
      }
    EXPECT_EQ(diff, 0u) << c.op << ": " << diff << " of " << a.size() << " counts differ, first at " << first
                        << " (cpu " << (first < a.size() ? a[first] : 0) << ", cuda " << (first < b.size() ? b[first] : 0)
                        << ")";
  }
}

TEST_F(SamplingCuda, LikelihoodsAgreeWithCpuOverExtremeParameters) {
  // counts 0..1e5 x theta 1e-4..1e6 x mu 1e-6..1e5 x logits +-50, one element per row: both backends
  // compute in double from the same f32 inputs, so results round to the same float or a neighbour.
  std::vector<double> x, mu, th, pi;
  for (double xv : {0.0, 1.0, 2.0, 10.0, 1e3, 1e5})
    for (double t : {1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6})
      for (double m : {1e-6, 1e-2, 1.0, 1e2, 1e5})
        for (double p : {-50.0, -5.0, 0.0, 5.0, 50.0}) {
          x.push_back(xv);
          th.push_back(static_cast<float>(t));
          mu.push_back(static_cast<float>(m));
          pi.push_back(p);
        }
  const Shape s{int64_t(x.size()), 1};
  std::vector<HostTensor> dout(1);
  dout[0] = host(Shape{s[0]}, std::vector<double>(x.size(), 1.0));
  struct Case {
    const char* op;
    std::vector<HostTensor> in;
  };
  const Case cases[] = {{"nb_log_prob", {host(s, x), host(s, mu), host(s, th)}},
                        {"zinb_log_prob", {host(s, x), host(s, mu), host(s, th), host(s, pi)}},
                        {"gamma_poisson_log_prob", {host(s, x), host(s, mu), host(s, th)}},
                        {"poisson_log_prob", {host(s, x), host(s, mu)}}};
  for (const Case& c : cases) {
    const RunResult a = run(cpu(), c.op, c.in, 0, 0, &dout);
    const RunResult b = run(*cuda(), c.op, c.in, 0, 0, &dout);
    auto check = [&](const std::vector<double>& u, const std::vector<double>& v, const std::string& what) {
      for (size_t e = 0; e < u.size(); ++e) {
        ASSERT_TRUE(std::isfinite(u[e]) && std::isfinite(v[e])) << c.op << " " << what << " element " << e;
        // One float ulp of the CPU value (at least the spacing of float denormals, 2^-149).
        const double ulp = u[e] == 0 ? 0.0 : std::ldexp(1.0, std::ilogb(static_cast<float>(u[e])) - 23);
        ASSERT_LE(std::fabs(u[e] - v[e]), std::max(ulp, std::ldexp(1.0, -149)))
            << c.op << " " << what << " x=" << x[e] << " mu=" << mu[e] << " theta=" << th[e] << " pi=" << pi[e]
            << ": cpu " << u[e] << " cuda " << v[e];
      }
    };
    check(a.out[0].v, b.out[0].v, "log-prob");
    for (size_t i = 0; i < a.d_in.size(); ++i)
      if (a.d_in[i].present) check(a.d_in[i].v, b.d_in[i].v, "gradient of input " + std::to_string(i));
  }
}

}  // namespace
}  // namespace cuvi::test
