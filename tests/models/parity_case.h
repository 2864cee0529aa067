// What every parity-fixture test shares: the cases of a fixture folder (one .h5 per case, sorted, none
// when the folder is absent), host copies of tape tensors, and a fixture group's recorded noise as the
// model's NoiseSource (dropout masks and reparameterisation eps by site name).
#pragma once
#include <algorithm>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <cmath>

#include "engine/params.h"
#include "engine/tape.h"
#include "models/layers/graph.h"
#include "tests/models/fixture_reader.h"
#include "tests/models/parity_compare.h"

namespace cuvi::test {

struct FixtureCase {
  std::string name, path;
};
inline void PrintTo(const FixtureCase& c, std::ostream* os) { *os << c.name; }

inline std::vector<FixtureCase> fixture_cases(const std::string& sub) {
  std::vector<FixtureCase> v;
  const std::string dir = fixture_dir(sub);
  if (!std::filesystem::exists(dir)) return v;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".h5") v.push_back({e.path().stem().string(), e.path().string()});
  std::sort(v.begin(), v.end(), [](const FixtureCase& a, const FixtureCase& b) { return a.name < b.name; });
  return v;
}

// Every parameter of `ps` from the fixture group `group` (one dataset per parameter name).
inline void load_param_group(const io::Node& root, const std::string& group, ParamStore& ps) {
  for (size_t id = 0; id < ps.entries().size(); ++id) {
    const std::string& name = ps.entry(int(id)).name;
    const auto node = root.open_if(group + "/" + name);
    ASSERT_TRUE(node.has_value()) << "fixture lacks " << group << "/" << name;
    ps.set(int(id), read_array(*node).v);
  }
}

// A CPU tape tensor's values.
inline std::vector<float> host_values(const Tape& t, TensorId id) {
  const Tensor& v = t.value(id);
  const float* p = v.ptr<float>();
  return std::vector<float>(p, p + v.numel());
}

// Every dataset of `group` as injected noise; `keep` owns the arrays the tensors point into.
inline models::NoiseSource recorded_noise(const io::Node& root, const std::string& group, std::vector<HostArray>& keep) {
  models::NoiseSource ns;
  const io::Node g = root.open(group);
  const std::vector<std::string> names = g.members();
  keep.reserve(keep.size() + names.size());
  for (const std::string& name : names) {
    keep.push_back(read_array(g.open(name)));
    ns.tensors[name] = Tensor(keep.back().v.data(), DType::F32, Device::CPU, keep.back().shape);
  }
  return ns;
}

// The gradient of parameter `name` (after backward) against the fixture's grads/<name>: 1e-3 relative
// plus 1e-4 of the mean magnitude (gradients sum over cells and features). A bias that feeds
// training-mode BatchNorm has an exactly zero gradient (the batch mean removes it): both sides hold
// rounding noise, which must be tiny next to the layer weight's gradient.
inline void expect_gradient_matches(const ParamStore& ps, const io::Node& root, const std::string& name) {
  const int id = ps.find(name);
  ASSERT_GE(id, 0) << "no parameter " << name;
  const Tensor gt = ps.grad(id);
  const std::vector<float> grad(gt.ptr<float>(), gt.ptr<float>() + gt.numel());
  const HostArray ref = read_array(root.open("grads/" + name));
  const std::string suffix = ".0.bias";
  const bool bias = name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  const std::string layer = bias ? name.substr(0, name.size() - suffix.size()) : "";
  if (bias && ps.find(layer + ".1.weight") >= 0 && ps.find(layer + ".1.running_mean") >= 0) {
    const HostArray w = read_array(root.open("grads/" + layer + ".0.weight"));
    double rms = 0;
    for (float v : w.v) rms += double(v) * v;
    rms = std::sqrt(rms / double(w.v.size()));
    for (size_t i = 0; i < grad.size(); ++i) {
      EXPECT_LT(std::fabs(grad[i]), 1e-4 * rms) << name << "[" << i << "]";
      EXPECT_LT(std::fabs(ref.v[i]), 1e-4 * rms) << name << "[" << i << "] (scvi-tools)";
    }
    return;
  }
  EXPECT_TRUE(close_to(grad, ref, "grad " + name, 1e-3, 1e-4));
}

}  // namespace cuvi::test
