// Emulator stand-in for <cub/device/device_radix_sort.cuh> (tools/cuda_emu): cub::DeviceRadixSort with
// CUB's temp-storage protocol, sorted on the host by emu_runtime.cpp.
#pragma once
#include "../../../emu_runtime.h"
