// Opening a model and a data file together for inference.
#include "tools/workflow/scvi_inference.h"

namespace cuvi::workflow {

ScviInference open_scvi_inference(const std::string& model_path, const std::string& data_path, Backend& backend,
                                  uint64_t seed, int64_t batch_size, const LoaderOptions& loader, bool strict_counts) {
  ScviFile file = read_scvi(model_path);
  PreparedData data = prepare_data(data_path, file.registry.keys, &file.registry, strict_counts);
  return open_scvi_inference(std::move(file), std::move(data), backend, seed, batch_size, loader);
}

ScviInference open_scvi_inference(ScviFile file, PreparedData data, Backend& backend, uint64_t seed,
                                  int64_t batch_size, const LoaderOptions& loader) {
  ScviInference s;
  s.file = std::move(file);
  s.data = std::move(data);
  s.model = load_scvi_model(s.file, backend, seed);
  encode_codes(s.data, s.model->module().layout());
  s.session = std::make_unique<ScviSession>(backend, *s.model, s.data, batch_size, loader);
  return s;
}

}  // namespace cuvi::workflow
