// CUDA launchers for the fused optimizer: one Adam/AdamW launch over every used segment of the
// flat buffer, deterministic global-norm clipping, and the device-side step counter.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace cuvi::cuda {

struct AdamHyper {
  double beta1, beta2, eps, weight_decay, max_norm;  // max_norm <= 0: no clipping
  bool decoupled;
};

// scalars: device pointers into StepScalars (lr, step, clip_scale, grad_norm).
// segments: device (S, 2) [start, length]; workspace: >= 4 KiB of device scratch.
// step_ticket: device counter (0 between launches) with which the Adam launch's last block increments
// *step after the update (the optimizer passes one; the registry op passes null: no increment).
void adam_step(cudaStream_t s, const AdamHyper& h, float* p, const float* g, float* m, float* v,
               const int64_t* segments, int64_t n_segments, int64_t max_segment_len, const double* lr,
               int64_t* step, double* clip_scale, double* grad_norm, void* workspace, size_t workspace_bytes,
               unsigned* step_ticket);

// Writes the one-segment table [0, n] into device memory (2 int64) on the stream, without a host copy.
void adam_single_segment(cudaStream_t s, int64_t* table, int64_t n);

}  // namespace cuvi::cuda
