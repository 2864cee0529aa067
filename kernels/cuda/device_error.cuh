// Records a device error (kernels/common/device_error.h) into err = (kind, value): the first kind written wins
// (compare-and-swap on the kind), and its writer stores the value. err may be null (nothing recorded).
#pragma once
#include <cstdint>

#include "kernels/common/device_error.h"

namespace cuvi::cuda {

__device__ __forceinline__ void record_device_error(int64_t* err, int64_t kind, int64_t value) {
  if (!err) return;
  if (atomicCAS(reinterpret_cast<unsigned long long*>(err), 0ull, static_cast<unsigned long long>(kind)) == 0ull)
    err[1] = value;
}

}  // namespace cuvi::cuda
