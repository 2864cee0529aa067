// Launchers of the emulator's stream-capture self-test kernels (graph_selftest.cu): small kernels whose
// effect shows how many times, and with which arguments, a recorded launch ran.
#pragma once
#include <cuda_runtime_api.h>

namespace emu_selftest {

// A by-value struct argument (two floats): y = y * scale + shift.
struct Affine {
  float scale, shift;
};

void axpy(cudaStream_t s, float* y /*(n)*/, const float* x /*(n)*/, float a, int n);  // y += a x
void affine(cudaStream_t s, float* y /*(n)*/, Affine f, int n);
void increment(cudaStream_t s, int* counter /*(1)*/);  // *counter += 1

}  // namespace emu_selftest
