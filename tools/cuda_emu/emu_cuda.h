// Device side of the CUDA emulator: the constructs kernels/cuda/*.cu use (built-in indices, shared memory,
// barriers, warp intrinsics, atomics, math, vector types, launches), force-included by transform.py.
#pragma once
// Every system header first: the CUDA macros below must not reach them.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "emu_runtime.h"

// Device compilation pass: code under kernels/common takes its __CUDA_ARCH__ branches. __CUDACC__ stays
// undefined, so CUVI_HD (kernels/common/hd.h) is plain `inline`.
#define __CUDA_ARCH__ 900
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)

// ------------------------------------------------------------------------------------------------
// Built-in variables (set by the scheduler before any thread of a block runs).

struct uint3 {
  unsigned int x, y, z;
};
extern EMU_API uint3 threadIdx;
extern EMU_API uint3 blockIdx;
extern EMU_API dim3 blockDim;
extern EMU_API dim3 gridDim;
constexpr int warpSize = 32;

// ------------------------------------------------------------------------------------------------
// Scheduler services (emu_runtime.cpp).

namespace emu {

enum WarpOp : int { kShflIdx, kShflUp, kShflDown, kShflXor, kBallot, kAny, kAll, kSyncWarp };
enum BarrierOp : int { kBarPlain, kBarCount, kBarAnd, kBarOr };

// Block barrier at (file, line); returns the block-wide reduction of `pred` for the counting variants.
EMU_API int barrier(int op, int pred, const char* file, int line);
// One warp collective: every participating lane deposits `bits`; returns this lane's result bits.
EMU_API uint64_t warp_collective(int op, unsigned mask, uint64_t bits, int arg, int width, int bytes,
                                 const char* file, int line);
EMU_API unsigned active_mask();
// Static __shared__ variable of declaration site `site` (per block), and the dynamic shared buffer.
EMU_API void* shared_alloc(int site, size_t bytes, size_t align, const char* file);
EMU_API void* dynamic_shared_base();
// Ends the launch with an error (device-side trap or assertion).
[[noreturn]] EMU_API void trap(const char* why, const char* file, int line);

template <class T>
inline T& shared_var(int site, const char* file) {
  static_assert(std::is_trivially_default_constructible<T>::value, "__shared__ variables must be trivial");
  return *static_cast<T*>(shared_alloc(site, sizeof(T), alignof(T), file));
}
template <class T>
inline T* dynamic_shared() {
  return static_cast<T*>(dynamic_shared_base());
}

template <class T>
inline uint64_t to_bits(T v) {
  static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8, "warp shuffles move at most 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
inline T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}

// Kernel launch: the configuration and the arguments are evaluated once on the host, converted to the
// kernel's parameter types, and every emulated thread runs the kernel on its own copy of them.
struct KernelInfo {
  const char* name;
  const char* file;
  int line;
  int max_threads;                 // __launch_bounds__ (0: none)
  bool barriers;                   // the kernel (or a function it calls) uses a barrier or warp collective
  unsigned long long restricted;   // bit i: parameter i is a __restrict__ pointer
  unsigned long long restrict_const;  // bit i: ... to const data
};
// What the launch checks of one kernel argument: a pointer's value, or a padding-free struct's bytes
// (scanned for host addresses).
struct ArgView {
  int index;          // parameter position
  bool pointer;
  const void* value;  // the pointer, or the struct's address
  size_t bytes;       // struct size (0 for a pointer)
};
// thunk(ctx) runs one emulated thread; clone and destroy copy and free ctx, so that a launch recorded by a
// stream capture keeps its own copy of the arguments (CUDA captures them by value at launch).
EMU_API void run_grid(const KernelInfo& info, const void* func, dim3 grid, dim3 block, size_t smem,
                      cudaStream_t stream, void (*thunk)(void*), void* ctx, void* (*clone)(const void*),
                      void (*destroy)(void*), const ArgView* args, int n_args, size_t param_bytes);

template <class Tuple, size_t... I>
inline void collect_args(const Tuple& t, ArgView* out, int* n, std::index_sequence<I...>) {
  (
      [&] {
        using E = std::tuple_element_t<I, Tuple>;
        if constexpr (std::is_pointer<E>::value)
          out[(*n)++] = ArgView{int(I), true, static_cast<const void*>(std::get<I>(t)), 0};
        else if constexpr (std::is_class<E>::value && std::has_unique_object_representations<E>::value)
          // Only structs without padding or floating-point members: their every byte is a value, so a
          // word that equals a host address is one (padding may hold stale stack contents).
          out[(*n)++] = ArgView{int(I), false, static_cast<const void*>(&std::get<I>(t)), sizeof(E)};
      }(),
      ...);
}

template <class... P>
struct Launch {
  void (*kernel)(P...);
  std::tuple<std::decay_t<P>...> params;
  static void thunk(void* self) {
    Launch* l = static_cast<Launch*>(self);
    std::tuple<std::decay_t<P>...> mine = l->params;  // a thread's own copy of the parameters
    std::apply(l->kernel, mine);
  }
  static void* clone(const void* self) { return new Launch(*static_cast<const Launch*>(self)); }
  static void destroy(void* self) { delete static_cast<Launch*>(self); }
};

template <class... P, class... A>
inline void launch(const KernelInfo& info, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
                   cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
  Launch<P...> l{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
  ArgView views[sizeof...(P) + 1];
  int n = 0;
  collect_args(l.params, views, &n, std::index_sequence_for<P...>{});
  const size_t param_bytes = (size_t(0) + ... + sizeof(std::decay_t<P>));
  run_grid(info, reinterpret_cast<const void*>(kernel), grid, block, smem, stream, &Launch<P...>::thunk, &l,
           &Launch<P...>::clone, &Launch<P...>::destroy, views, n, param_bytes);
}

}  // namespace emu

#define __syncthreads() ::emu::barrier(::emu::kBarPlain, 1, __FILE__, __LINE__)
#define __syncthreads_count(p) ::emu::barrier(::emu::kBarCount, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_and(p) ::emu::barrier(::emu::kBarAnd, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_or(p) ::emu::barrier(::emu::kBarOr, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncwarp(...) ::emu::syncwarp_at(__FILE__, __LINE__, ##__VA_ARGS__)
#define __shfl_sync(m, v, l, ...) ::emu::shfl(::emu::kShflIdx, m, v, l, __FILE__, __LINE__, ##__VA_ARGS__)
#define __shfl_up_sync(m, v, d, ...) ::emu::shfl(::emu::kShflUp, m, v, int(d), __FILE__, __LINE__, ##__VA_ARGS__)
#define __shfl_down_sync(m, v, d, ...) ::emu::shfl(::emu::kShflDown, m, v, int(d), __FILE__, __LINE__, ##__VA_ARGS__)
#define __shfl_xor_sync(m, v, l, ...) ::emu::shfl(::emu::kShflXor, m, v, l, __FILE__, __LINE__, ##__VA_ARGS__)
#define __ballot_sync(m, p) unsigned(::emu::warp_collective(::emu::kBallot, m, (p) ? 1 : 0, 0, 32, 4, __FILE__, __LINE__))
#define __any_sync(m, p) int(::emu::warp_collective(::emu::kAny, m, (p) ? 1 : 0, 0, 32, 4, __FILE__, __LINE__))
#define __all_sync(m, p) int(::emu::warp_collective(::emu::kAll, m, (p) ? 1 : 0, 0, 32, 4, __FILE__, __LINE__))
#define __trap() ::emu::trap("__trap()", __FILE__, __LINE__)

namespace emu {
template <class T>
inline T shfl(int op, unsigned mask, T v, int arg, const char* file, int line, int width = warpSize) {
  return from_bits<T>(warp_collective(op, mask, to_bits(v), arg, width, int(sizeof(T)), file, line));
}
inline void syncwarp_at(const char* file, int line, unsigned mask = 0xffffffffu) {
  warp_collective(kSyncWarp, mask, 0, 0, 32, 4, file, line);
}
}  // namespace emu

inline unsigned __activemask() { return emu::active_mask(); }
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}
inline long long clock64() { return 0; }

// ------------------------------------------------------------------------------------------------
// Vector types.

#define EMU_VEC2(T, N) \
  struct alignas(2 * sizeof(T)) N { T x, y; }; \
  inline N make_##N(T x, T y) { return N{x, y}; }
#define EMU_VEC3(T, N) \
  struct N { T x, y, z; }; \
  inline N make_##N(T x, T y, T z) { return N{x, y, z}; }
#define EMU_VEC4(T, N, A) \
  struct alignas(A) N { T x, y, z, w; }; \
  inline N make_##N(T x, T y, T z, T w) { return N{x, y, z, w}; }
EMU_VEC2(float, float2)
EMU_VEC3(float, float3)
EMU_VEC4(float, float4, 16)
EMU_VEC2(double, double2)
EMU_VEC4(double, double4, 16)
EMU_VEC2(int, int2)
EMU_VEC3(int, int3)
EMU_VEC4(int, int4, 16)
EMU_VEC2(unsigned int, uint2)
EMU_VEC4(unsigned int, uint4, 16)
EMU_VEC2(long long, longlong2)
EMU_VEC2(unsigned long long, ulonglong2)
#undef EMU_VEC2
#undef EMU_VEC3
#undef EMU_VEC4
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }

// ------------------------------------------------------------------------------------------------
// Math. CUDA device code overloads the <cmath> names for float in the global namespace (sqrt(float) is a
// float square root); on the host only the double C functions live there, so bring in std's overloads.

using std::abs;
using std::acos;
using std::acosh;
using std::asin;
using std::asinh;
using std::atan;
using std::atan2;
using std::atanh;
using std::cbrt;
using std::ceil;
using std::copysign;
using std::cos;
using std::cosh;
using std::erf;
using std::erfc;
using std::exp;
using std::exp2;
using std::expm1;
using std::fabs;
using std::fdim;
using std::floor;
using std::fma;
using std::fmax;
using std::fmin;
using std::fmod;
using std::frexp;
using std::hypot;
using std::ilogb;
using std::isfinite;
using std::isinf;
using std::isnan;
using std::ldexp;
using std::lgamma;
using std::llrint;
using std::llround;
using std::log;
using std::log10;
using std::log1p;
using std::log2;
using std::logb;
using std::lrint;
using std::lround;
using std::modf;
using std::nearbyint;
using std::nextafter;
using std::pow;
using std::remainder;
using std::rint;
using std::round;
using std::scalbn;
using std::signbit;
using std::sin;
using std::sinh;
using std::sqrt;
using std::tan;
using std::tanh;
using std::tgamma;
using std::trunc;

inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float rcbrtf(float x) { return 1.f / std::cbrt(x); }
inline float exp10f(float x) { return std::pow(10.f, x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __log2f(float x) { return std::log2(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x != x ? 0.f : (x < 0.f ? 0.f : (x > 1.f ? 1.f : x)); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline float normcdff(float x) { return 0.5f * std::erfc(-x * 0.70710678118654752f); }
inline double normcdf(double x) { return 0.5 * std::erfc(-x * 0.70710678118654752); }
inline void sincosf(float x, float* s, float* c) {
  *s = std::sin(x);
  *c = std::cos(x);
}
inline void sincos(double x, double* s, double* c) {
  *s = std::sin(x);
  *c = std::cos(x);
}

// CUDA's global min/max overloads for arithmetic types.
#define EMU_MINMAX(T)                                  \
  inline T min(T a, T b) { return b < a ? b : a; }     \
  inline T max(T a, T b) { return a < b ? b : a; }
EMU_MINMAX(int)
EMU_MINMAX(unsigned int)
EMU_MINMAX(long)
EMU_MINMAX(unsigned long)
EMU_MINMAX(long long)
EMU_MINMAX(unsigned long long)
#undef EMU_MINMAX
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }

// Bit reinterpretation and conversions.
inline int __float_as_int(float x) { return emu::from_bits<int>(emu::to_bits(x)); }
inline unsigned int __float_as_uint(float x) { return emu::from_bits<unsigned int>(emu::to_bits(x)); }
inline float __int_as_float(int x) { return emu::from_bits<float>(emu::to_bits(x)); }
inline float __uint_as_float(unsigned int x) { return emu::from_bits<float>(emu::to_bits(x)); }
inline long long __double_as_longlong(double x) { return emu::from_bits<long long>(emu::to_bits(x)); }
inline double __longlong_as_double(long long x) { return emu::from_bits<double>(emu::to_bits(x)); }
inline int __float2int_rn(float x) { return int(std::nearbyint(x)); }
inline int __float2int_rz(float x) { return int(x); }
inline int __double2int_rn(double x) { return int(std::nearbyint(x)); }
inline float __int2float_rn(int x) { return float(x); }
inline float __double2float_rn(double x) { return float(x); }

// Integer intrinsics.
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(unsigned(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
  unsigned int r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
inline unsigned int __umulhi(unsigned int a, unsigned int b) { return unsigned((uint64_t(a) * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline int __mul24(int a, int b) { return a * b; }

template <class T>
inline T __ldg(const T* p) {
  return *p;
}

// ------------------------------------------------------------------------------------------------
// Atomics. The threads of a launch run on one host thread, one at a time, so a read-modify-write is
// indivisible by construction.

#define EMU_ATOMIC_RMW(name, T, expr) \
  inline T name(T* p, T v) {          \
    const T old = *p;                 \
    *p = (expr);                      \
    return old;                       \
  }
EMU_ATOMIC_RMW(atomicAdd, int, old + v)
EMU_ATOMIC_RMW(atomicAdd, unsigned int, old + v)
EMU_ATOMIC_RMW(atomicAdd, unsigned long long, old + v)
EMU_ATOMIC_RMW(atomicAdd, float, old + v)
EMU_ATOMIC_RMW(atomicAdd, double, old + v)
EMU_ATOMIC_RMW(atomicSub, int, old - v)
EMU_ATOMIC_RMW(atomicSub, unsigned int, old - v)
EMU_ATOMIC_RMW(atomicExch, int, v)
EMU_ATOMIC_RMW(atomicExch, unsigned int, v)
EMU_ATOMIC_RMW(atomicExch, unsigned long long, v)
EMU_ATOMIC_RMW(atomicExch, float, v)
EMU_ATOMIC_RMW(atomicMax, int, old < v ? v : old)
EMU_ATOMIC_RMW(atomicMax, unsigned int, old < v ? v : old)
EMU_ATOMIC_RMW(atomicMax, long long, old < v ? v : old)
EMU_ATOMIC_RMW(atomicMax, unsigned long long, old < v ? v : old)
EMU_ATOMIC_RMW(atomicMin, int, v < old ? v : old)
EMU_ATOMIC_RMW(atomicMin, unsigned int, v < old ? v : old)
EMU_ATOMIC_RMW(atomicMin, long long, v < old ? v : old)
EMU_ATOMIC_RMW(atomicMin, unsigned long long, v < old ? v : old)
EMU_ATOMIC_RMW(atomicAnd, int, old & v)
EMU_ATOMIC_RMW(atomicAnd, unsigned int, old & v)
EMU_ATOMIC_RMW(atomicOr, int, old | v)
EMU_ATOMIC_RMW(atomicOr, unsigned int, old | v)
EMU_ATOMIC_RMW(atomicXor, int, old ^ v)
EMU_ATOMIC_RMW(atomicXor, unsigned int, old ^ v)
EMU_ATOMIC_RMW(atomicInc, unsigned int, old >= v ? 0u : old + 1u)
EMU_ATOMIC_RMW(atomicDec, unsigned int, (old == 0u || old > v) ? v : old - 1u)
#undef EMU_ATOMIC_RMW
#define EMU_ATOMIC_CAS(T)                   \
  inline T atomicCAS(T* p, T cmp, T v) {    \
    const T old = *p;                       \
    if (old == cmp) *p = v;                 \
    return old;                             \
  }
EMU_ATOMIC_CAS(int)
EMU_ATOMIC_CAS(unsigned int)
EMU_ATOMIC_CAS(unsigned long long)
#undef EMU_ATOMIC_CAS
