// PeakVI's small heads (scvi-multivi.md §2.2): FCLayers (no dropout) then Linear(n_hidden -> n_out) and an
// output activation. Sigmoid: the accessibility decoder (N, R) and the cell-specific factor d (N, 1)
// (scvi's DecoderPeakVI); LeakyReLU: MULTIVI's expression library encoder (LibrarySizeEncoder, a log
// library point estimate). Names "<prefix>.px_decoder.*" and "<prefix>.output.0.{weight,bias}".
#pragma once
#include "models/layers/fc_layers.h"

namespace cuvi::models {

enum class HeadActivation { Sigmoid, LeakyRelu };

class DecoderPeakVi {
 public:
  // fc.n_out is the hidden width (the Linear's input).
  void declare(ParamStore& ps, const std::string& prefix, const FCLayersSpec& fc, int64_t n_out, HeadActivation act);
  // x (N, fc.n_in), codes (N, J) or kNoTensor -> (N, n_out).
  TensorId forward(Graph& g, TensorId x, TensorId codes) const { return activate(g, logits(g, x, codes)); }
  // The Linear's output before the activation, and the activation applied to it.
  TensorId logits(Graph& g, TensorId x, TensorId codes) const;
  TensorId activate(Graph& g, TensorId logits) const;

 private:
  FCLayers m_fc;
  HeadActivation m_act = HeadActivation::Sigmoid;
  int m_w = -1, m_b = -1;
};

}  // namespace cuvi::models
