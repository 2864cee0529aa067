// Training MULTIVI on registered multiome data (scvi-multivi.md §2.1, §4.2): a model sized from the
// data (genes, regions, batches, covariates, cells), covariate codes on the loader, the engine's
// trainer with the adversarial classifier's optimizer.
#pragma once
#include <memory>

#include "models/multivi/multivi_model.h"
#include "tools/workflow/setup.h"

namespace cuvi::workflow {

// `options` carries every model option; its sizes come from `data` (then resolved: n_hidden, n_latent).
// Encodes the covariate codes into data.cells.
std::unique_ptr<models::MultiviModel> new_multivi_model(PreparedData& data, models::MultiviConfig options,
                                                        Backend& backend, uint64_t seed);
// Trains with `config` (its weight decay is also the classifier optimizer's).
TrainResult train_multivi(models::MultiviModel& model, PreparedData& data, Backend& backend, const TrainConfig& config,
                          const LoaderOptions& loader = {});

}  // namespace cuvi::workflow
