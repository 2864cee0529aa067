// Helpers for op definition files: typed pointers of possibly-absent tensors, CUDA handles,
// and the float/double instantiation of CPU reference adapters.
#pragma once
#ifndef CUVI_CPU_ONLY
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#endif

#include "engine/registry.h"

// A CUDA adapter of an op, or none in a CPU-only build (CUVI_CPU_ONLY: no CUDA toolkit at build time).
#ifdef CUVI_CPU_ONLY
#define CUVI_CUDA_FN(fn) nullptr
#else
#define CUVI_CUDA_FN(fn) fn
#endif

namespace cuvi::ops {

template <class T>
inline const T* in_ptr(const OpIO& io, int i) {
  return io.in[i].defined() ? io.in[i].ptr<T>() : nullptr;
}
template <class T>
inline T* out_ptr(const OpIO& io, int j) {
  return io.out[j].ptr<T>();
}
template <class T>
inline T* aux_ptr(const OpIO& io, int j) {
  return io.aux[j].ptr<T>();
}
// Gradient of output j, or null when it received none.
template <class T>
inline const T* dout_ptr(const OpIO& io, int j) {
  return io.d_out[j].defined() ? io.d_out[j].ptr<T>() : nullptr;
}
// Gradient buffer of input i, or null when input i needs no gradient.
template <class T>
inline T* din_ptr(const OpIO& io, int i) {
  return io.d_in[i].defined() ? io.d_in[i].ptr<T>() : nullptr;
}
inline bool acc(const OpIO& io, int i) { return io.accumulate && io.accumulate[i]; }

#ifndef CUVI_CPU_ONLY
inline cudaStream_t stream(const OpIO& io) { return static_cast<cudaStream_t>(io.ctx->stream); }
inline cublasHandle_t cublas(const OpIO& io) { return static_cast<cublasHandle_t>(io.ctx->cublas); }
#endif

// Float shape spec / integer shape spec for OpShapes.
inline TensorSpec fspec(const Shape& s) { return TensorSpec{s, DType::F32, true}; }
inline TensorSpec ispec(const Shape& s, DType t = DType::I32) { return TensorSpec{s, t, false}; }

// Wire a templated CPU reference pair into an OpDef (f32 and f64 instantiations).
#define CUVI_CPU_KERNELS(def, fwd_tmpl, bwd_tmpl) \
  do {                                            \
    (def).cpu_fwd_f32 = fwd_tmpl<float>;          \
    (def).cpu_fwd_f64 = fwd_tmpl<double>;         \
    (def).cpu_bwd_f32 = bwd_tmpl<float>;          \
    (def).cpu_bwd_f64 = bwd_tmpl<double>;         \
  } while (0)

}  // namespace cuvi::ops
