// The model handle of the extension (model.cpp): the workflow's ScviFile plus what the last training run
// reported; analysis.cpp rebuilds the model on a backend from it for every inference call.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tools/workflow/scvi_file.h"

namespace cuvi::python {

struct Model {
  workflow::ScviFile file;
  bool interrupted = false;          // training stopped early: the last finished epoch's weights are kept
  bool keyboard_interrupt = false;   // ... by Ctrl-C
  int64_t epochs_run = 0;
  double seconds = 0;
  std::vector<int32_t> train_indices, validation_indices;  // the run's split
  std::string device;                // what training ran on ("device: cpu (2 threads)")
};

}  // namespace cuvi::python
