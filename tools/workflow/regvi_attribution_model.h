// get_modality_attribution on a RegularizedVI model file (regularizedvi.md §9): the evaluation points from an
// inference pass (posterior means; weighted_mean: the mixed sampled z; the library the pass used), the decoders'
// weights and the covariate codes, handed to the model-free attribution of regvi_attribution.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tools/workflow/regvi_attribution.h"
#include "tools/workflow/regvi_file.h"

namespace cuvi::workflow {

// Host copies of one modality's decoder (px_decoder layers, px_scale head, raw feature scaling gamma).
struct RegviDecoderWeights {
  std::string name;
  int64_t n_latent = 0;  // own slice width
  std::vector<std::vector<float>> w, b;  // per layer (n_out, n_in), (n_out)
  std::vector<int64_t> n_out, n_in;
  std::vector<float> out_w, out_b;  // (F, H), (F)
  std::vector<float> scaling;       // (rows, F) raw gamma, empty without feature scaling
  int64_t scaling_rows = 0;
  // A view into this object (keep it alive and in place while the view is used); z_width: the decoder's
  // latent input width.
  ModalityDecoder view(const models::RegviConfig& c, int64_t z_width) const;
};

// Fails naming the option for decoders other than regularizedvi's (BatchNorm, no LayerNorm).
std::vector<RegviDecoderWeights> regvi_decoder_weights(const models::RegviModel& model);

struct RegviAttribution {
  std::vector<ModalityAttribution> modalities;  // model order
  std::vector<float> z;                         // (n_cells, width) the latent points
  int64_t n_cells = 0, width = 0;
};

// Every cell of inf.data, minibatches of batch_size; the library and (weighted_mean) z are one draw at `seed`,
// as regularizedvi's eval pass samples them (§12.7). "reference" categories are the most frequent of inf.data
// (regularizedvi takes them from the model's registered data).
RegviAttribution regvi_modality_attribution(RegviInference& inf, Backend& backend, RemoveCovariates remove,
                                            CovariateReference reference, uint64_t seed, int64_t batch_size = 256);

}  // namespace cuvi::workflow
