// Errors that device kernels record instead of trapping (a trap is a sticky context error with no message):
// a (kind, value) pair in device memory (StepScalars::device_error), first writer wins; the host reads it
// after the step or epoch and turns it into one readable line (engine/loader.cpp).
#pragma once
#include <cstdint>

namespace cuvi {

enum DeviceErrorKind : int64_t {
  kDeviceErrorNone = 0,
  kDeviceErrorCursor = 1,  // value: the loader's cursor, whose minibatch runs past the epoch's rows
  kDeviceErrorRow = 2,     // value: a row index outside the count matrix
};

}  // namespace cuvi
