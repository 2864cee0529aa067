// The trained-model handles of the extension: a model's file form (SCVI / LinearSCVI in model.cpp, MRVI
// in mrvi.cpp, AmbientRegularizedSCVI in regvi.cpp) plus what the last training run reported; every
// inference call rebuilds the model on a backend from the file form.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tools/workflow/mrvi_file.h"
#include "tools/workflow/regvi_file.h"
#include "tools/workflow/scvi_file.h"

namespace cuvi::python {

// What a training run reported (empty for a model read from a file).
struct RunFacts {
  bool interrupted = false;          // training stopped early: the last finished epoch's weights are kept
  bool keyboard_interrupt = false;   // ... by Ctrl-C
  int64_t epochs_run = 0;
  double seconds = 0;
  std::vector<int32_t> train_indices, validation_indices;  // the run's split
  std::string device;                // what training ran on ("device: cpu (2 threads)")
};

struct Model : RunFacts {
  workflow::ScviFile file;
};

struct MrviModel : RunFacts {
  workflow::MrviFile file;
};

struct RegviModel : RunFacts {
  workflow::RegviFile file;
};

}  // namespace cuvi::python
