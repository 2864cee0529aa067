// Noise sites and parameter helpers shared by every model.
#include "models/layers/graph.h"

namespace cuvi::models {

uint32_t noise_stream(const std::string& site) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (char c : site) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

TensorId injected_noise(Graph& g, const std::string& site, const Shape& shape) {
  const Tensor* t = g.noise ? g.noise->find(site) : nullptr;
  if (!t) return kNoTensor;
  CUVI_CHECK(t->shape == shape, "injected noise '" + site + "' has shape " + t->shape.str() + ", the model needs " +
                                    shape.str());
  return g.tape.input(*t);
}

static TensorId injected(Graph& g, const std::string& site, TensorId like) {
  return injected_noise(g, site, g.tape.value(like).shape);
}

TensorId normal_noise(Graph& g, const std::string& site, TensorId like) {
  const TensorId t = injected(g, site, like);
  if (t != kNoTensor) return t;
  return g.apply("randn_like", {like}, params_i({int64_t(noise_stream(site))}));
}

TensorId dropout_mask(Graph& g, const std::string& site, TensorId like, double p) {
  const TensorId t = injected(g, site, like);
  if (t != kNoTensor) return t;
  OpParams prm = params_i({int64_t(noise_stream(site))});
  prm.f[0] = p;
  return g.apply("keep_mask_like", {like}, prm);
}

OpParams params_i(std::initializer_list<int64_t> ints) {
  OpParams p;
  int k = 0;
  for (int64_t v : ints) p.i[k++] = v;
  return p;
}

OpParams params_f(std::initializer_list<double> floats) {
  OpParams p;
  int k = 0;
  for (double v : floats) p.f[k++] = v;
  return p;
}

}  // namespace cuvi::models
