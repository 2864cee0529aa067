// Elementwise activations shared by the CPU reference (S = double) and CUDA (S = float):
// value and derivative of ReLU, LeakyReLU, GELU (tanh form, MRVI), softplus (torch threshold 20),
// exp(x) + c (scvi var activation), sigmoid, log1p, log, sqrt (MULTIVI's Jeffreys penalty), and the
// indicator x > 0 (binarised accessibility, modality masks; zero derivative).
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace cuvi {

enum UnaryKind : int { kRelu, kLeakyRelu, kGelu, kSoftplus, kExp, kSigmoid, kLog1p, kLog, kSqrt, kIsPositive };

// a: LeakyReLU slope, or the constant added after exp.
template <class S>
CUVI_HD S unary_value(int kind, S x, S a) {
  switch (kind) {
    case kRelu: return x > S(0) ? x : S(0);
    case kLeakyRelu: return x > S(0) ? x : a * x;
    case kGelu: {
      const S c = S(0.7978845608028654);
      return S(0.5) * x * (S(1) + tanh(c * (x + S(0.044715) * x * x * x)));
    }
    case kSoftplus: return x > S(20) ? x : log1p(exp(x));
    case kExp: return exp(x) + a;
    case kSigmoid: return x >= S(0) ? S(1) / (S(1) + exp(-x)) : exp(x) / (S(1) + exp(x));
    case kLog1p: return log1p(x);
    case kLog: return log(x);
    case kSqrt: return sqrt(x);
    case kIsPositive: return x > S(0) ? S(1) : S(0);
  }
  return x;
}

// dy/dx given x and y = unary_value(x).
template <class S>
CUVI_HD S unary_deriv(int kind, S x, S y, S a) {
  switch (kind) {
    case kRelu: return x > S(0) ? S(1) : S(0);
    case kLeakyRelu: return x > S(0) ? S(1) : a;
    case kGelu: {
      const S c = S(0.7978845608028654);
      const S t = tanh(c * (x + S(0.044715) * x * x * x));
      return S(0.5) * (S(1) + t) + S(0.5) * x * (S(1) - t * t) * c * (S(1) + S(3 * 0.044715) * x * x);
    }
    case kSoftplus: return x > S(20) ? S(1) : (x >= S(0) ? S(1) / (S(1) + exp(-x)) : exp(x) / (S(1) + exp(x)));
    case kExp: return y - a;
    case kSigmoid: return y * (S(1) - y);
    case kLog1p: return S(1) / (S(1) + x);
    case kLog: return S(1) / x;
    case kSqrt: return S(0.5) / y;
    case kIsPositive: return S(0);
  }
  return S(1);
}

}  // namespace cuvi
