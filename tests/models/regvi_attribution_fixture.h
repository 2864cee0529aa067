// The attribution parity fixture (tests/fixtures/regvi_attribution, tools/fixtures/gen_regvi_attribution_fixture.py)
// as an AttributionRequest: regularizedvi's decoders, evaluation points and covariate codes, owned here.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "io/h5_util.h"
#include "tests/models/fixture_reader.h"
#include "tools/workflow/regvi_attribution.h"

namespace cuvi::test {

inline std::string attribution_fixture_path() { return fixture_dir("regvi_attribution") + "/attribution.h5"; }

// One case of the fixture: decoders and evaluation points, owned here.
struct AttributionCase {
  std::vector<std::string> names;
  std::map<std::string, int64_t> n_latent;
  HostArray z, cont, nn_codes, fs_codes;
  std::map<std::string, std::vector<HostArray>> layer_w, layer_b;
  std::map<std::string, HostArray> out_w, out_b, fs, lib;
  workflow::AttributionRequest req;
};

inline std::vector<int32_t> as_codes(const HostArray& a) { return std::vector<int32_t>(a.v.begin(), a.v.end()); }

inline void load_attribution_case(const io::Node& g, AttributionCase* c) {
  c->names = g.attr_strings("modalities");
  c->z = read_array(g.open("z"));
  c->cont = read_array(g.open("cont"));
  c->nn_codes = read_array(g.open("nn_codes"));
  c->fs_codes = read_array(g.open("fs_codes"));
  const int64_t N = c->z.shape.d[0], K = c->z.shape.d[1];
  auto& r = c->req;
  r.n_cells = N;
  r.nn_covariates = {g.open("nn_codes").attr_ints("cats"), as_codes(c->nn_codes), N};
  r.fs_covariates = {g.open("fs_codes").attr_ints("cats"), as_codes(c->fs_codes), N};
  r.nn_reference = workflow::most_frequent_codes(r.nn_covariates);
  r.fs_reference = workflow::most_frequent_codes(r.fs_covariates);
  for (const std::string& m : c->names) {
    c->n_latent[m] = g.attr_ints("n_latent_" + m).at(0);
    const io::Node mg = g.open(m);
    for (int i = 0; mg.has("layer" + std::to_string(i)); ++i) {
      c->layer_w[m].push_back(read_array(mg.open("layer" + std::to_string(i) + "/weight")));
      c->layer_b[m].push_back(read_array(mg.open("layer" + std::to_string(i) + "/bias")));
    }
    c->out_w[m] = read_array(mg.open("out/weight"));
    c->out_b[m] = read_array(mg.open("out/bias"));
    c->lib[m] = read_array(mg.open("library"));
    if (mg.has("feature_scaling")) c->fs[m] = read_array(mg.open("feature_scaling"));
  }
  for (const std::string& m : c->names) {
    workflow::ModalityDecoder md;
    md.name = m;
    md.n_latent = c->n_latent[m];
    DecoderWeights& d = md.decoder;
    for (size_t l = 0; l < c->layer_w[m].size(); ++l) {
      const HostArray& w = c->layer_w[m][l];
      d.layers.push_back({w.v.data(), c->layer_b[m][l].v.data(), w.shape.d[0], w.shape.d[1]});
    }
    d.out_weight = c->out_w[m].v.data();
    d.out_bias = c->out_b[m].v.data();
    d.n_features = c->out_w[m].shape.d[0];
    d.n_latent = K;
    d.n_cont = c->cont.shape.d[1];
    d.n_cov = 3 + 4;
    if (c->fs.count(m)) {
      md.feature_scaling = c->fs[m].v.data();
      md.feature_scaling_rows = c->fs[m].shape.d[0];
    }
    r.modalities.push_back(md);
    r.log_library.push_back(c->lib[m].v.data());
  }
  r.z = c->z.v.data();
  r.cont = c->cont.v.data();
}

inline int64_t decoder_reduction_length(const workflow::ModalityDecoder& m) {
  int64_t n = m.decoder.n_features + m.decoder.n_latent + m.decoder.n_cont + m.decoder.n_cov;
  for (const auto& l : m.decoder.layers) n += 2 * l.n_out + m.decoder.n_cov;
  return n;
}

}  // namespace cuvi::test
