// Random FCLayers decoders and latent points for the attribution tests (CPU and CUDA suites): weights owned
// here, the FcDecoderView/DecoderPoint views pointing into them, in float and double.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/common/fc_decoder.h"

namespace cuvi::test {

struct RandomDecoderSpec {
  int64_t n_cells = 7, n_latent = 5, n_cont = 0, n_features = 23, n_fs_rows = 0;
  std::vector<int64_t> hidden{19};
  std::vector<int64_t> cov_cats;  // categories per covariate (one-hot blocks)
  bool inject = true;
  double out_bias_shift = 0;  // added to the head bias (large: softplus' identity branch)
};

template <class T>
struct RandomDecoder {
  RandomDecoderSpec spec;
  std::vector<std::vector<T>> w, b;
  std::vector<T> wout, bout, z, cont, cov, lib, ind, table;
  FcDecoderView<T> view;
  DecoderPoint<T> point;
};

// Same draws for every T (generated in double, then cast), so float and double decoders are the same decoder.
template <class T>
RandomDecoder<T> make_random_decoder(const RandomDecoderSpec& s, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_real_distribution<double> ud(0.0, 1.0);
  RandomDecoder<T> r;
  r.spec = s;
  int64_t Q = 0;
  for (int64_t c : s.cov_cats) Q += c;
  int64_t prev = s.n_latent + s.n_cont;
  for (size_t l = 0; l < s.hidden.size(); ++l) {
    const int64_t nin = prev + ((l == 0 || s.inject) ? Q : 0), nout = s.hidden[l];
    std::vector<T> w(size_t(nout * nin)), b(static_cast<size_t>(nout));
    for (auto& v : w) v = T(nd(rng) / std::sqrt(double(nin)));
    for (auto& v : b) v = T(0.3 * nd(rng));
    r.w.push_back(std::move(w));
    r.b.push_back(std::move(b));
    prev = nout;
  }
  r.wout.resize(size_t(s.n_features * prev));
  r.bout.resize(size_t(s.n_features));
  for (auto& v : r.wout) v = T(nd(rng) / std::sqrt(double(prev)));
  for (auto& v : r.bout) v = T(nd(rng) + s.out_bias_shift);
  r.z.resize(size_t(s.n_cells * s.n_latent));
  for (auto& v : r.z) v = T(nd(rng));
  r.cont.resize(size_t(s.n_cells * s.n_cont));
  for (auto& v : r.cont) v = T(nd(rng));
  r.cov.assign(size_t(s.n_cells * Q), T(0));
  for (int64_t n = 0; n < s.n_cells; ++n) {
    int64_t off = 0;
    for (int64_t c : s.cov_cats) {
      r.cov[size_t(n * Q + off + int64_t(ud(rng) * double(c)) % c)] = T(1);
      off += c;
    }
  }
  r.lib.resize(size_t(s.n_cells));
  for (auto& v : r.lib) v = T(std::log(500.0) + 0.5 * nd(rng));
  if (s.n_fs_rows > 0) {
    r.ind.assign(size_t(s.n_cells * s.n_fs_rows), T(0));
    for (int64_t n = 0; n < s.n_cells; ++n) r.ind[size_t(n * s.n_fs_rows + int64_t(ud(rng) * double(s.n_fs_rows)) % s.n_fs_rows)] = T(1);
    r.table.resize(size_t(s.n_fs_rows * s.n_features));
    for (auto& v : r.table) v = T(0.5 + ud(rng));
  }
  FcDecoderView<T>& d = r.view;
  prev = s.n_latent + s.n_cont;
  for (size_t l = 0; l < s.hidden.size(); ++l) {
    const int64_t nin = prev + ((l == 0 || s.inject) ? Q : 0);
    d.layers.push_back({r.w[l].data(), r.b[l].data(), s.hidden[l], nin});
    prev = s.hidden[l];
  }
  d.out_weight = r.wout.data();
  d.out_bias = r.bout.data();
  d.n_features = s.n_features;
  d.n_latent = s.n_latent;
  d.n_cont = s.n_cont;
  d.n_cov = Q;
  d.inject_covariates = s.inject;
  DecoderPoint<T>& p = r.point;
  p.n_cells = s.n_cells;
  p.z = r.z.data();
  p.cont = s.n_cont ? r.cont.data() : nullptr;
  p.cov = Q ? r.cov.data() : nullptr;
  p.log_library = r.lib.data();
  if (s.n_fs_rows > 0) {
    p.fs_indicator = r.ind.data();
    p.fs_table = r.table.data();
    p.n_fs_rows = s.n_fs_rows;
  }
  return r;
}

// Reduction length of one attribution value (dot products of every layer and the head, the feature mean):
// the dtype tolerance scales with it.
inline int64_t attribution_reduction_length(const RandomDecoderSpec& s) {
  int64_t Q = 0, n = s.n_latent + s.n_cont + s.n_features;
  for (int64_t c : s.cov_cats) Q += c;
  n += Q;
  for (int64_t h : s.hidden) n += 2 * h + Q;
  return n;
}

}  // namespace cuvi::test
