// Shared definitions of the fused FC layer (scvi FCLayers layer, scvi-multivi.md §1.2): Linear + bias +
// one-hot covariates -> BatchNorm or LayerNorm -> activation -> inverted dropout. Compiled by g++ and nvcc.
#pragma once
#include <cstdint>

#include "kernels/common/hd.h"

namespace cuvi {

enum FcNorm : int { kFcNormNone = 0, kFcNormBatch = 1, kFcNormLayer = 2 };
enum FcAct : int { kFcActNone = 0, kFcActRelu = 1, kFcActLeakyRelu = 2 };

struct FcConfig {
  int norm = kFcNormNone;
  int act = kFcActNone;
  bool training = true;
  double momentum = 0.01;  // BatchNorm running statistics
  double eps = 1e-3;       // BatchNorm or LayerNorm epsilon
  double slope = 0.01;     // leaky ReLU
  double p_drop = 0;       // > 0: dropout mask drawn from Philox (unless one is given)
  uint32_t stream = 0;     // Philox stream of the dropout mask (element = n * M + m)
};

CUVI_HD float fc_act(int act, float z, float slope) {
  if (act == kFcActRelu) return z > 0.f ? z : 0.f;
  if (act == kFcActLeakyRelu) return z > 0.f ? z : slope * z;
  return z;
}
CUVI_HD double fc_act(int act, double z, double slope) {
  if (act == kFcActRelu) return z > 0.0 ? z : 0.0;
  if (act == kFcActLeakyRelu) return z > 0.0 ? z : slope * z;
  return z;
}
// Derivative of the activation read from the layer's output y = act(z) * keep with keep > 0 (where keep = 0 the
// gradient is zero anyway): for ReLU and leaky ReLU, y > 0 exactly when z > 0, as the unfused ops test x > 0.
template <class T>
CUVI_HD T fc_act_grad(int act, T y, T slope) {
  if (act == kFcActNone) return T(1);
  return y > T(0) ? T(1) : (act == kFcActRelu ? T(0) : slope);
}

}  // namespace cuvi
