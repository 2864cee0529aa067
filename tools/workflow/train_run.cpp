// A training run: device dataset over the prepared counts and cells, then Trainer::fit.
#include "tools/workflow/train_run.h"

namespace cuvi::workflow {

TrainResult train_on_data(TrainableModel& model, const PreparedData& data, Backend& backend, const TrainConfig& config,
                          const LoaderOptions& loader) {
  DeviceDataset dataset(backend, data.counts(), data.cells, loader);
  Trainer trainer(backend, model, dataset, config);
  return trainer.fit();
}

}  // namespace cuvi::workflow
