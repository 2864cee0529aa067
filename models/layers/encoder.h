// Encoder (scvi nn.Encoder, scvi-multivi.md §1.3 step 3): FCLayers then mean and variance heads,
// q_v = exp(raw) + var_eps. Names "<prefix>.encoder.*", "<prefix>.mean_encoder.*", "<prefix>.var_encoder.*".
#pragma once
#include "models/layers/fc_layers.h"

namespace cuvi::models {

struct EncoderSpec {
  FCLayersSpec fc;  // n_out is the hidden width; its n_hidden too
  int64_t n_output = 10;
  double var_eps = 1e-4;
};

class Encoder {
 public:
  void declare(ParamStore& ps, const std::string& prefix, const EncoderSpec& spec);
  struct Out {
    TensorId mean, var;  // (N, n_output)
  };
  Out forward(Graph& g, TensorId x, TensorId codes) const;
  // The heads, the reparameterised sample and KL(q || N(0, 1)) as one fused op (normal_latent). noise_site names
  // the Philox stream / injected noise; sample = false gives z = mean.
  struct Sampled {
    TensorId mean, var, z;  // (N, n_output)
    TensorId kl;            // (N)
  };
  Sampled forward_sampled(Graph& g, TensorId x, TensorId codes, const std::string& noise_site, bool sample) const;
  const std::string& prefix() const { return m_prefix; }

 private:
  EncoderSpec m_spec;
  std::string m_prefix;
  FCLayers m_fc;
  int m_mean_w = -1, m_mean_b = -1, m_var_w = -1, m_var_b = -1;
};

}  // namespace cuvi::models
