// CUDA fused optimizer: clipping norm in two deterministic stages, then one Adam launch with a
// 2-D grid (x: elements of a segment, y: segment) whose last block to finish advances the step counter.
#include "kernels/common/adam.h"
#include "kernels/cuda/adam.h"
#include "kernels/cuda/check.h"

namespace cuvi::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kNormBlocks = 512;

__global__ void norm_partials_kernel(const float* __restrict__ g, const int64_t* __restrict__ segments,
                                     int64_t n_segments, double* __restrict__ partials) {
  __shared__ double sh[kThreads];
  double s = 0;
  for (int64_t k = 0; k < n_segments; ++k) {
    const float* x = g + segments[2 * k];
    const int64_t n = segments[2 * k + 1];
    for (int64_t i = blockIdx.x * int64_t(kThreads) + threadIdx.x; i < n; i += int64_t(gridDim.x) * kThreads)
      s += double(x[i]) * double(x[i]);
  }
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = sh[0];
}

__global__ void norm_finish_kernel(const double* __restrict__ partials, int n, double max_norm,
                                   double* clip_scale, double* grad_norm) {
  __shared__ double sh[kThreads];
  double s = 0;
  for (int i = threadIdx.x; i < n; i += kThreads) s += partials[i];
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const double norm = sqrt(sh[0]);
    *grad_norm = norm;
    const double coef = max_norm / (norm + 1e-6);
    *clip_scale = coef < 1.0 ? coef : 1.0;
  }
}

// Thread 0 of each block derives the step's constants (the two double pow of the bias corrections) into
// shared memory; every thread of the block uses them. With a ticket, the last block to finish (counted
// on *ticket, which it resets to 0) advances *step: every block has read the step before it counts itself.
__global__ void adam_kernel(AdamHyper h, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, const int64_t* __restrict__ segments, const double* lr,
                            int64_t* step, const double* clip_scale, unsigned* ticket) {
  __shared__ AdamConstants sc[1];
  if (threadIdx.x == 0)
    sc[0] = adam_constants(*lr, h.beta1, h.beta2, h.eps, h.weight_decay, h.decoupled, *step + 1,
                           h.max_norm > 0 ? *clip_scale : 1.0);
  __syncthreads();
  const AdamConstants c = sc[0];
  const int64_t start = segments[2 * blockIdx.y], n = segments[2 * blockIdx.y + 1];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = start + i;
    float pj = p[j], mj = m[j], vj = v[j];
    adam_update(c, pj, g[j], mj, vj);
    p[j] = pj;
    m[j] = mj;
    v[j] = vj;
  }
  if (!ticket) return;
  if (threadIdx.x == 0) {
    __threadfence();
    if (atomicAdd(ticket, 1u) == gridDim.x * gridDim.y - 1) {
      *step += 1;
      *ticket = 0;
    }
  }
}

__global__ void advance_step_kernel(int64_t* step) { *step += 1; }

__global__ void single_segment_kernel(int64_t* table, int64_t n) {
  table[0] = 0;
  table[1] = n;
}

}  // namespace

void adam_step(cudaStream_t s, const AdamHyper& h, float* p, const float* g, float* m, float* v,
               const int64_t* segments, int64_t n_segments, int64_t max_segment_len, const double* lr, int64_t* step,
               double* clip_scale, double* grad_norm, void* workspace, size_t workspace_bytes,
               unsigned* step_ticket) {
  if (n_segments > 0 && h.max_norm > 0) {
    if (workspace_bytes < kNormBlocks * sizeof(double))
      throw std::runtime_error("adam_step: workspace too small for the norm partials");
    double* partials = static_cast<double*>(workspace);
    norm_partials_kernel<<<kNormBlocks, kThreads, 0, s>>>(g, segments, n_segments, partials);
    check_launch("gradient norm partials");
    norm_finish_kernel<<<1, kThreads, 0, s>>>(partials, kNormBlocks, h.max_norm, clip_scale, grad_norm);
    check_launch("gradient norm");
  }
  if (n_segments > 0) {
    if (n_segments > 65535) throw std::runtime_error("adam_step: more than 65535 parameter segments");
    dim3 grid(grid_for(max_segment_len, kThreads, 4096), unsigned(n_segments));
    adam_kernel<<<grid, kThreads, 0, s>>>(h, p, g, m, v, segments, lr, step, clip_scale, step_ticket);
    check_launch("adam");
  } else if (step_ticket) {  // nothing to update: the counter still advances
    advance_step_kernel<<<1, 1, 0, s>>>(step);
    check_launch("advance step");
  }
}

void adam_single_segment(cudaStream_t s, int64_t* table, int64_t n) {
  single_segment_kernel<<<1, 1, 0, s>>>(table, n);
  check_launch("adam segment table");
}

}  // namespace cuvi::cuda
