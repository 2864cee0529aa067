// Tensor: a non-owning view (dtype, shape, strides, pointer, device). Only arenas own memory.
// Kernels take contiguous row-major views; strides exist so that callers can describe slices.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "engine/error.h"

namespace cuvi {

enum class DType : uint8_t { F32, F64, I32, I64, U8 };
enum class Device : uint8_t { CPU, CUDA };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}
const char* dtype_name(DType t);
inline bool is_float(DType t) { return t == DType::F32 || t == DType::F64; }

constexpr int kMaxDims = 4;

struct Shape {
  int ndim = 0;
  int64_t d[kMaxDims] = {0, 0, 0, 0};
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  int64_t numel() const;
  int64_t operator[](int i) const { return d[i < 0 ? ndim + i : i]; }
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;
};

struct Tensor {
  void* data = nullptr;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  Shape shape;
  int64_t stride[kMaxDims] = {0, 0, 0, 0};  // in elements

  Tensor() = default;
  Tensor(void* ptr, DType t, Device dev, const Shape& s);  // contiguous strides

  bool defined() const { return data != nullptr; }
  int ndim() const { return shape.ndim; }
  int64_t numel() const { return shape.numel(); }
  int64_t dim(int i) const { return shape[i]; }
  // Leading dimension and the product of the others: the 2-D view most kernels use.
  int64_t rows() const { return shape.ndim == 0 ? 1 : shape.d[0]; }
  int64_t cols() const { return shape.ndim == 0 ? 1 : numel() / (shape.d[0] == 0 ? 1 : shape.d[0]); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  bool is_contiguous() const;
  template <class T> T* ptr() const { return static_cast<T*>(data); }
  std::string str() const;  // "f32(128, 2000) on cuda"
};

}  // namespace cuvi
