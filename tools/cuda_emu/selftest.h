// Launchers of the emulator's self-test kernels (selftest.cu): warp and barrier semantics as CUDA
// documents them, and kernels with deliberate faults that the emulator must report.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace emu_selftest {

enum Shuffle : int { kIdx, kUp, kDown, kXor };
// out[t] = the shuffle of in[t] (block of n threads, one block), offset/lane `arg`, segment `width`.
void shuffle(int kind, const float* in, float* out, int n, int arg, int width);
// out[t] = ballot, any, all of (in[t] != 0) over each full warp: out (n, 3) unsigned.
void vote(const int* in, unsigned* out, int n);
// *out = sum of in[0..n) by a shared-memory tree over one block of `threads` threads (grid-stride in).
void block_sum(const float* in, float* out, int n, int threads);
// *out = __syncthreads_count(in[t] > 0) over one block of n threads.
void barrier_count(const float* in, int* out, int n);
// out[t] = value of a shared variable never written (poison), one block of n threads.
void read_uninitialised_shared(float* out, int n);

// Faults: each launch must end with the documented error from cudaGetLastError().
void divergent_barrier(float* out, int n);        // half the block exits before __syncthreads
void missing_shuffle_lanes(float* out, int n);    // a partial warp shuffles with the full mask
void write_past_end(float* out, int n);           // writes out[n]
void launch_with_threads(float* out, int threads);  // a block of `threads` threads (> 1024: invalid)
void launch_over_bounds(float* out);              // 256 threads on __launch_bounds__(128)
void launch_with_dynamic_smem(float* out, size_t bytes);
void restrict_alias(float* p, int n);             // the same buffer as two __restrict__ arguments
void struct_with_pointers(const float* a, const float* b, float* out);  // a struct of two input pointers

}  // namespace emu_selftest
