// CUDA launchers for the embedding lookup and gather_csr_rows (the minibatch densify step of the
// device-resident loader, DESIGN.md decision 5), fp32. Same contract as kernels/cpu/embedding.h.
// Out-of-range codes/rows give NaN rows and out-of-range column indices are skipped (the CPU path rejects both).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

// y[n, :] = table[codes[n], :]
void embedding_fwd(cudaStream_t s,
                   const float* table,     // (S, F)
                   const int32_t* codes,   // (N)
                   float* y,               // (N, F)
                   int64_t N, int64_t F, int64_t S);

// dtable[s, :] (+)= sum over rows with codes[n] == s of dy[n, :]: one thread per (s, f), rows in order.
void embedding_bwd(cudaStream_t s,
                   const int32_t* codes,   // (N)
                   const float* dy,        // (N, F)
                   float* dtable,          // (S, F)
                   bool accumulate, int64_t N, int64_t F, int64_t S);

// x[n, :] = dense row rows[n] of the CSR matrix with G columns (indices distinct within a row), with the
// encoder input log1p(x) and the observed log library log(sum_g x) in the same pass. One block per output row:
// zero-fill, barrier, scatter the row's nonzeros (offsets clamped to [0, nnz]). A row outside [0, R) gives NaN
// and is recorded in err = (kind, value) (kernels/common/device_error.h; err may be null).
void gather_csr_rows(cudaStream_t s,
                     const int64_t* indptr,   // (R + 1)
                     const int32_t* indices,  // (nnz)
                     const float* data,       // (nnz)
                     const int32_t* rows,     // (N)
                     float* x,                // (N, G)
                     float* x_log1p,          // (N, G)
                     float* log_library,      // (N)
                     int64_t* err,            // (2) device, or null
                     int64_t N, int64_t G, int64_t R, int64_t nnz);
void gather_csr_rows(cudaStream_t s,
                     const int32_t* indptr,   // (R + 1), 32-bit offsets
                     const int32_t* indices, const float* data, const int32_t* rows, float* x, float* x_log1p,
                     float* log_library, int64_t* err, int64_t N, int64_t G, int64_t R, int64_t nnz);

}  // namespace cuvi::cuda
