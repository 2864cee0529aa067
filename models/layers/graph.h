// What a model needs while recording a forward pass: the tape, its parameters, train/eval mode and
// the noise source (Philox draws, or noise injected by parity fixtures and tests).
#pragma once
#include <map>
#include <string>

#include "engine/params.h"
#include "engine/tape.h"

namespace cuvi::models {

// Named noise tensors that replace the model's own draws (e.g. scvi-tools fixtures): "qz" for the
// latent reparameterisation noise, "<dropout module path>" for a dropout multiplier.
struct NoiseSource {
  std::map<std::string, Tensor> tensors;
  const Tensor* find(const std::string& site) const {
    auto it = tensors.find(site);
    return it == tensors.end() ? nullptr : &it->second;
  }
};

struct Graph {
  Tape& tape;
  const ParamStore& params;
  bool training = true;
  const NoiseSource* noise = nullptr;
  // Parameters enter as constants: gradients still flow through the network to its inputs but not
  // into its weights (scvi-tools' adversarial fool loss, which only the VAE optimizer steps).
  bool frozen_params = false;

  // Trainable parameters enter with their gradient buffer; buffers (running statistics) as inputs.
  TensorId p(int id) const {
    const ParamEntry& e = params.entry(id);
    return e.trainable && !frozen_params ? tape.param(params.value(id), params.grad(id), id)
                                         : tape.input(params.value(id));
  }
  TensorId apply(const char* op_name, std::initializer_list<TensorId> in, const OpParams& prm = {}) const {
    return tape.apply1(op_name, in, prm);
  }
};

// Philox stream of a named random site: a draw is (seed, step, stream(site), element).
uint32_t noise_stream(const std::string& site);
// Standard normal noise shaped like `like`, or the injected tensor for `site`.
TensorId normal_noise(Graph& g, const std::string& site, TensorId like);
// The tensor injected for `site` (checked against `shape`), or kNoTensor when the model draws its own.
TensorId injected_noise(Graph& g, const std::string& site, const Shape& shape);
// Inverted-dropout multiplier (0 or 1/(1-p)) shaped like `like`, or the injected one.
TensorId dropout_mask(Graph& g, const std::string& site, TensorId like, double p);

OpParams params_i(std::initializer_list<int64_t> ints);
OpParams params_f(std::initializer_list<double> floats);

}  // namespace cuvi::models
