// Host/device qualifier shared by the CPU reference and the CUDA kernels.
// Code under kernels/common compiles unchanged with g++ and nvcc.
#pragma once
#if defined(__CUDACC__)
#define CUVI_HD __host__ __device__ __forceinline__
#else
#define CUVI_HD inline
#endif
