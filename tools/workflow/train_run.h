// One training run of any model on registered data: the counts on the device loader (CSR upload,
// minibatches densified on the device) and the engine's trainer.
#pragma once
#include "engine/trainer.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

TrainResult train_on_data(TrainableModel& model, const PreparedData& data, Backend& backend, const TrainConfig& config,
                          const LoaderOptions& loader = {});

}  // namespace cuvi::workflow
