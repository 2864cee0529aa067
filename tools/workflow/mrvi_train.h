// Training MRVI on registered data (spec/mrvi.md §4): a model sized from the data registry, the sample
// codes on the loader, cells per sample for scale_observations, and the engine's trainer.
#pragma once
#include <memory>

#include "models/mrvi/mrvi_model.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

// `options` carries every model option; its sizes (genes, samples, batches, labels) come from `data`.
// Encodes the sample codes into data.cells and sets n_obs_per_sample from the data.
std::unique_ptr<models::MrviModel> new_mrvi_model(PreparedData& data, models::MrviConfig options, Backend& backend,
                                                  uint64_t seed);
TrainResult train_mrvi(models::MrviModel& model, PreparedData& data, Backend& backend, const TrainConfig& config,
                       const LoaderOptions& loader = {});

}  // namespace cuvi::workflow
