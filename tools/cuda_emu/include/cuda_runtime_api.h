// Emulator stand-in for the CUDA Toolkit header <cuda_runtime_api.h> (tools/cuda_emu): the host API subset cuvi
// uses, declared by emu_runtime.h and implemented on the host by emu_runtime.cpp.
#pragma once
#include "../emu_runtime.h"
