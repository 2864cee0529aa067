// Tensor and Shape helpers (formatting, contiguity).
#include "engine/tensor.h"

#include <sstream>

namespace cuvi {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
  }
  return "?";
}

Shape::Shape(std::initializer_list<int64_t> dims) {
  CUVI_CHECK(dims.size() <= kMaxDims, "tensor rank above 4 is not supported");
  for (int64_t v : dims) d[ndim++] = v;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= d[i];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (ndim != o.ndim) return false;
  for (int i = 0; i < ndim; ++i)
    if (d[i] != o.d[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::ostringstream s;
  s << "(";
  for (int i = 0; i < ndim; ++i) s << (i ? ", " : "") << d[i];
  s << ")";
  return s.str();
}

Tensor::Tensor(void* ptr, DType t, Device dev, const Shape& s) : data(ptr), dtype(t), device(dev), shape(s) {
  int64_t st = 1;
  for (int i = s.ndim - 1; i >= 0; --i) {
    stride[i] = st;
    st *= s.d[i];
  }
}

bool Tensor::is_contiguous() const {
  int64_t st = 1;
  for (int i = shape.ndim - 1; i >= 0; --i) {
    if (shape.d[i] != 1 && stride[i] != st) return false;
    st *= shape.d[i];
  }
  return true;
}

std::string Tensor::str() const {
  return std::string(dtype_name(dtype)) + shape.str() + (device == Device::CUDA ? " on cuda" : " on cpu");
}

}  // namespace cuvi
