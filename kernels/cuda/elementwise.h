// CUDA launchers for broadcast add/sub/mul, scale by a constant and the device-resident kl_weight,
// concat_cols and slice_cols, fp32. Same contract as kernels/cpu/elementwise.h; device pointers.
// b of a broadcast op is addressed as b[n * b_rs + f * b_cs]: (N,F) -> (F,1), (F) -> (0,1), (N,1) -> (1,0), (1) -> (0,0).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

// y = a + alpha * b  (add: alpha = 1, sub: alpha = -1)
void add_bcast(cudaStream_t s,
               const float* a,  // (N, F)
               const float* b,  // broadcast by (b_rs, b_cs)
               float* y,        // (N, F)
               float alpha, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs);
// y = a * b
void mul_bcast(cudaStream_t s,
               const float* a,  // (N, F)
               const float* b,  // broadcast by (b_rs, b_cs)
               float* y,        // (N, F)
               int64_t N, int64_t F, int64_t b_rs, int64_t b_cs);

// da (+)= dy; db (+)= alpha * dy summed over the broadcast axes. scratch: kSumAllScratchBytes (b of shape (1)).
void add_bcast_bwd(cudaStream_t s,
                   const float* dy,  // (N, F)
                   float* da,        // (N, F) or null
                   float* db,        // shape of b, or null
                   bool acc_a, bool acc_b, float alpha, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs,
                   float* scratch);
// da (+)= dy * b; db (+)= (dy * a) summed over the broadcast axes.
void mul_bcast_bwd(cudaStream_t s,
                   const float* a,   // (N, F)
                   const float* b,   // broadcast by (b_rs, b_cs)
                   const float* dy,  // (N, F)
                   float* da,        // (N, F) or null
                   float* db,        // shape of b, or null
                   bool acc_a, bool acc_b, int64_t N, int64_t F, int64_t b_rs, int64_t b_cs, float* scratch);

// y (+)= c * x with c = f0 * (*kl_weight) when kl_weight (a device pointer into the step scalars) is given,
// else c = f0. The weight is read by the kernel, so a captured graph sees the value of each replay.
void scale(cudaStream_t s,
           const float* x,            // (n)
           float* y,                  // (n)
           double f0, const double* kl_weight, bool accumulate, int64_t n);

// dst[n, dst_col0 + j] (+)= src[n, src_col0 + j] for j < W
void copy_cols(cudaStream_t s,
               const float* src,  // (N, src_ld)
               int64_t src_ld, int64_t src_col0,
               float* dst,        // (N, dst_ld)
               int64_t dst_ld, int64_t dst_col0, int64_t N, int64_t W, bool accumulate);

// dx[:, start:start+len] (+)= dy; other columns of dx become 0 unless accumulating.
void slice_cols_bwd(cudaStream_t s,
                    const float* dy,  // (N, len)
                    float* dx,        // (N, F)
                    int64_t start, int64_t len, bool accumulate, int64_t N, int64_t F);

}  // namespace cuvi::cuda
