// Emulator stand-in for <cub/cub.cuh> (tools/cuda_emu): only cub::DeviceRadixSort is emulated.
// Sorting runs on the host in emu_runtime.cpp.
#pragma once
#include "../../emu_runtime.h"
