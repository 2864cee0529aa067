// Hand-vectorised CPU paths next to the plain loops they replace, on the same inputs and threads:
// NB/ZINB likelihood rows (packed vs element-wise), softmax over genes (vm_exp lanes vs std::exp).
// Run on every instruction set the CPU path ships for (DESIGN.md decision 1): --benchmark_filter=cpu_path/
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/likelihood.h"
#include "kernels/cpu/reduce.h"

namespace {

using namespace cuvi;

// scVI decoder output at a minibatch: rates around a few counts per gene, most counts 0-5, a tail of
// large counts (up to ~500), per-gene theta and per-element zero-inflation logits.
struct LikData {
  int64_t N, G;
  std::vector<float> x, mu, theta, pi, dll, dmu, dtheta, dpi;
  std::vector<double> partial;
  LikData(int64_t n, int64_t g) : N(n), G(g) {
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> rate(0.0, 1.5), th(1.0, 0.6);
    std::normal_distribution<double> logit(-2.0, 1.0);
    theta.resize(size_t(G));
    for (auto& t : theta) t = float(th(rng));
    for (int64_t i = 0; i < N * G; ++i) {
      const double m = rate(rng);
      const double t = theta[size_t(i % G)];
      std::gamma_distribution<double> gam(t, m / t);
      std::poisson_distribution<int64_t> pois(gam(rng) + 1e-12);
      x.push_back(float(pois(rng)));
      mu.push_back(float(m));
      pi.push_back(float(logit(rng)));
    }
    dll.assign(size_t(N), 1.0f);
    dmu.resize(size_t(N * G));
    dpi.resize(size_t(N * G));
    dtheta.resize(size_t(G));
    partial.resize(size_t(cuvi::lik_tiles(N, G) * G));
  }
  LikInputs<float> inputs(bool zinb) const {
    return {{x.data(), mu.data(), theta.data(), zinb ? pi.data() : nullptr},
            {kLikFull, kLikFull, kLikRow, zinb ? kLikFull : kLikAbsent},
            {0, 0, 0, 0}};
  }
  LikGrads<float> grads(bool zinb) {
    return {{nullptr, dmu.data(), dtheta.data(), zinb ? dpi.data() : nullptr},
            {false, false, false, false},
            {nullptr, nullptr, partial.data(), nullptr}};
  }
};

// kind: kLikNB or kLikZINB; packed: the vectorised path (what the op runs) or the element loop.
void likelihood(benchmark::State& st, int kind, bool backward, bool packed) {
  LikData d(128, st.range(0));
  const bool zinb = kind == kLikZINB;
  const LikInputs<float> in = d.inputs(zinb);
  std::vector<float> ll(size_t(d.N));
  for (auto _ : st) {
    if (!backward) {
      if (packed)
        cpu::lik_rows_fwd(kind, in, 1e-8, ll.data(), d.N, d.G);
      else
        cpu::lik_rows_fwd_generic(kind, in, 1e-8, ll.data(), d.N, d.G);
      benchmark::DoNotOptimize(ll.data());
    } else {
      const LikGrads<float> g = d.grads(zinb);
      if (packed)
        cpu::lik_rows_bwd(kind, in, 1e-8, d.dll.data(), g, d.N, d.G);
      else
        cpu::lik_rows_bwd_generic(kind, in, 1e-8, d.dll.data(), g, d.N, d.G);
      benchmark::DoNotOptimize(d.dmu.data());
    }
  }
  st.SetItemsProcessed(st.iterations() * d.N * d.G);
}

// The plain softmax the vectorised one replaced: std::exp, one running sum.
void softmax_plain(const float* x, float* y, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + n * F;
    float* yr = y + n * F;
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t f = 0; f < F; ++f) m = std::max(m, double(xr[f]));
    double s = 0;
    for (int64_t f = 0; f < F; ++f) s += std::exp(double(xr[f]) - m);
    for (int64_t f = 0; f < F; ++f) yr[f] = float(std::exp(double(xr[f]) - m) / s);
  }
}

void softmax(benchmark::State& st, bool vectorised) {
  const int64_t N = 128, F = st.range(0);
  std::mt19937_64 rng(3);
  std::normal_distribution<float> nd(0.f, 2.f);
  std::vector<float> x(size_t(N * F)), y(size_t(N * F));
  for (auto& v : x) v = nd(rng);
  for (auto _ : st) {
    if (vectorised)
      cpu::softmax_rows<float>(x.data(), nullptr, y.data(), N, F);
    else
      softmax_plain(x.data(), y.data(), N, F);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetItemsProcessed(st.iterations() * N * F);
}

struct Register {
  Register() {
    for (int64_t G : {2000, 8863}) {
      for (int kind : {int(kLikNB), int(kLikZINB)})
        for (bool bw : {false, true})
          for (bool packed : {true, false}) {
            const std::string name = std::string("cpu_path/") + (kind == kLikZINB ? "zinb" : "nb") +
                                     (bw ? "_bwd/" : "_fwd/") + (packed ? "packed" : "element");
            benchmark::RegisterBenchmark(name.c_str(), likelihood, kind, bw, packed)->Arg(G)->Unit(benchmark::kMicrosecond);
          }
      for (bool vec : {true, false})
        benchmark::RegisterBenchmark((std::string("cpu_path/softmax/") + (vec ? "vm_exp" : "std_exp")).c_str(), softmax,
                                     vec)
            ->Arg(G)
            ->Unit(benchmark::kMicrosecond);
    }
  }
} register_paths;

}  // namespace
