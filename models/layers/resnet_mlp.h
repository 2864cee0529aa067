// MRVI's dense building blocks (spec/mrvi.md §1): Dense, ResnetBlock (inner width always 128),
// MLP of ResNet blocks and NormalDistOutputNN, under scvi-tools' torch parameter names.
#pragma once
#include <string>
#include <vector>

#include "models/layers/graph.h"

namespace cuvi::models {

enum class MrviAct { Relu, Gelu };  // GELU is the tanh approximation (§1)

constexpr double kMrviLnEps = 1e-6;        // every LayerNorm of MRVI (§1)
constexpr int64_t kResnetInnerWidth = 128;  // ResnetBlock hidden width, never forwarded by callers (§1)

TensorId mrvi_act(Graph& g, TensorId x, MrviAct a);
// LayerNorm with eps 1e-6 and a learned scale/bias (gamma, beta < 0: no affine).
TensorId mrvi_layer_norm(Graph& g, TensorId x, int gamma, int beta);
// Declares "<name>.weight" (F) and "<name>.bias" (F) of an affine LayerNorm (init 1 and 0).
void declare_layer_norm(ParamStore& ps, const std::string& name, int64_t F, int* gamma, int* beta);

// torch nn.Linear: "<name>.weight" (out, in), "<name>.bias" (out); U(±1/sqrt(in)) for both.
struct Dense {
  int weight = -1, bias = -1;
  void declare(ParamStore& ps, const std::string& name, int64_t n_in, int64_t n_out, bool with_bias = true);
  TensorId forward(Graph& g, TensorId x) const;  // (N, in) -> (N, out)
};

// h = act_i(LN(fc1(x))); h += x (n_in == 128) or fc_match(x); out = act_o(LN(fc2(h))).
class ResnetBlock {
 public:
  void declare(ParamStore& ps, const std::string& prefix, int64_t n_in, int64_t n_out, MrviAct internal,
               MrviAct output);
  TensorId forward(Graph& g, TensorId x) const;  // (N, n_in) -> (N, n_out)

 private:
  Dense m_fc1, m_fc_match, m_fc2;
  int m_ln1_w = -1, m_ln1_b = -1, m_ln2_w = -1, m_ln2_b = -1;
  MrviAct m_internal = MrviAct::Relu, m_output = MrviAct::Relu;
  bool m_match = false;
};

// n_layers ResNet blocks (n_in -> n_hidden, then n_hidden -> n_hidden) and Dense(n_hidden -> n_out).
class Mlp {
 public:
  void declare(ParamStore& ps, const std::string& prefix, int64_t n_in, int64_t n_out, int64_t n_hidden, int n_layers,
               MrviAct act);
  TensorId forward(Graph& g, TensorId x) const;

 private:
  std::vector<ResnetBlock> m_blocks;
  Dense m_fc;
};

// n_layers ResNet blocks with ReLU, then mean = Dense(h) and scale = softplus(Dense(h)) + 1e-5.
class NormalDistOutput {
 public:
  void declare(ParamStore& ps, const std::string& prefix, int64_t n_in, int64_t n_out, int64_t n_hidden,
               int n_layers);
  struct Out {
    TensorId mean, scale;  // (N, n_out)
  };
  // scale_eps: a (1) tensor holding 1e-5 (the module's constant).
  Out forward(Graph& g, TensorId x, TensorId scale_eps) const;

 private:
  std::vector<ResnetBlock> m_blocks;
  Dense m_mean, m_scale;
};

}  // namespace cuvi::models
