// Reading MRVI parity fixtures (tools/fixtures/gen_mrvi_fixtures.py): configuration, data, packed
// tensor tables, recorded noise as a NoiseSource, and a CPU model loaded with the fixture's weights.
#pragma once
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "models/mrvi/mrvi_model.h"
#include "tests/models/fixture_reader.h"

namespace cuvi::test {

// A packed table: group with attribute "names" (newline-joined), datasets offsets (n + 1), values.
inline std::map<std::string, std::vector<float>> read_table(const io::Node& g) {
  std::map<std::string, std::vector<float>> out;
  std::vector<std::string> names;
  std::stringstream ss(g.attr_string("names").value_or(""));
  for (std::string line; std::getline(ss, line);)
    if (!line.empty()) names.push_back(line);
  const HostArray off = read_array(g.open("offsets"));
  const HostArray val = read_array(g.open("values"));
  for (size_t i = 0; i < names.size(); ++i)
    out[names[i]] = std::vector<float>(val.v.begin() + int64_t(off.v[i]), val.v.begin() + int64_t(off.v[i + 1]));
  return out;
}

inline models::MrviConfig mrvi_config_of(const io::Node& c) {
  auto i = [&](const char* k) { return c.attr_ints(k).at(0); };
  auto b = [&](const char* k) { return c.attr_ints(k).at(0) != 0; };
  models::MrviConfig cfg;
  cfg.n_genes = i("n_genes");
  cfg.n_sample = i("n_sample");
  cfg.n_batch = i("n_batch");
  cfg.n_labels = i("n_labels");
  cfg.n_latent = i("n_latent");
  cfg.n_latent_u = i("n_latent_u");
  cfg.encoder_n_hidden = i("encoder_n_hidden");
  cfg.encoder_n_layers = int(i("encoder_n_layers"));
  cfg.z_u_prior = b("z_u_prior");
  cfg.z_u_prior_scale = attr_double(c, "z_u_prior_scale");
  cfg.u_prior_scale = attr_double(c, "u_prior_scale");
  cfg.u_prior_mixture = b("u_prior_mixture");
  cfg.u_prior_mixture_k = i("u_prior_mixture_k");
  cfg.learn_z_u_prior_scale = b("learn_z_u_prior_scale");
  cfg.scale_observations = b("scale_observations");
  cfg.qz_use_map = b("qz_use_map");
  cfg.px_low_dim_batch = b("px_low_dim_batch");
  for (auto [p, a] : {std::pair<std::string, models::MrviAttentionOptions*>{"qz_", &cfg.qz}, {"px_", &cfg.px}}) {
    a->n_hidden = i((p + "n_hidden").c_str());
    a->n_layers = int(i((p + "n_layers").c_str()));
    a->n_latent_sample = i((p + "n_latent_sample").c_str());
    a->dropout_rate = attr_double(c, p + "dropout_rate");
    a->stop_gradients = b((p + "stop_gradients").c_str());
    a->stop_gradients_mlp = b((p + "stop_gradients_mlp").c_str());
  }
  return cfg;
}

struct MrviFixture {
  std::unique_ptr<Backend> backend = make_cpu_backend(0, 2);
  io::Node root;
  models::MrviConfig cfg;
  std::unique_ptr<models::MrviModel> model;
  std::vector<float> x;
  std::vector<int32_t> sample, batch, labels;
  std::vector<float> n_obs;
  int64_t N = 0, G = 0;

  MrviFixture(const std::string& path, const std::string& label_prior) {
    root = io::Node::root(io::H5File::open_read(path));
    cfg = mrvi_config_of(root.open("config"));
    cfg.label_prior = label_prior;
    model = std::make_unique<models::MrviModel>(cfg);
    model->allocate(*backend, 0);
    const HostArray xa = read_array(root.open("data/x"));
    N = xa.shape[0];
    G = xa.shape[1];
    x = xa.v;
    for (float v : read_array(root.open("data/sample")).v) sample.push_back(int32_t(v));
    for (float v : read_array(root.open("data/batch")).v) batch.push_back(int32_t(v));
    for (float v : read_array(root.open("data/labels")).v) labels.push_back(int32_t(v));
    n_obs = read_array(root.open("data/n_obs_per_sample")).v;
    load_weights(read_table(root.open("weights")));
  }
  // Every fixture entry must be a cuvi parameter; every cuvi parameter but n_obs_per_sample (torch keeps
  // it out of its state_dict) must be in the fixture.
  void load_weights(const std::map<std::string, std::vector<float>>& w) {
    ParamStore& ps = model->params();
    for (const auto& [name, values] : w) {
      const int id = ps.find(name);
      ASSERT_GE(id, 0) << "fixture parameter " << name << " has no cuvi counterpart";
      ps.set(id, values);
    }
    for (const ParamEntry& e : ps.entries())
      if (e.name != "n_obs_per_sample") {
        ASSERT_TRUE(w.count(e.name)) << "fixture lacks " << e.name;
      }
    model->set_n_obs_per_sample(n_obs);
  }
  MiniBatch minibatch() {
    MiniBatch mb;
    mb.n = N;
    mb.x = Tensor(x.data(), DType::F32, Device::CPU, Shape{N, G});
    mb.codes = Tensor(sample.data(), DType::I32, Device::CPU, Shape{N, 1});
    mb.batch = Tensor(batch.data(), DType::I32, Device::CPU, Shape{N});
    mb.labels = Tensor(labels.data(), DType::I32, Device::CPU, Shape{N});
    return mb;
  }
  // u/eps draws as recorded; 0/1 attention masks scaled to torch's inverted dropout 1/(1-p).
  models::NoiseSource noise(const io::Node& g, std::vector<HostArray>& keep) const {
    models::NoiseSource ns;
    keep.reserve(8);
    for (const std::string& name : g.members()) {
      keep.push_back(read_array(g.open(name)));
      HostArray& a = keep.back();
      if (name.find("attention_block") != std::string::npos) {
        const double p = name.rfind("qz", 0) == 0 ? cfg.qz.dropout_rate : cfg.px.dropout_rate;
        const float scale = float(1.0 / (1.0 - p));
        for (float& v : a.v) v = v != 0 ? scale : 0.f;
      }
      ns.tensors[name] = Tensor(a.v.data(), DType::F32, Device::CPU, a.shape);
    }
    return ns;
  }
};

}  // namespace cuvi::test
