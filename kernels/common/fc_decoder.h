// A plain view of one modality's FCLayers decoder as regularizedvi builds it (regularizedvi.md §5, §9): hidden
// layers Linear([h | covariates]) -> LayerNorm (no affine) -> ReLU, then the px_scale head Linear + softplus;
// px_rate = exp(library) * (softplus(head) + background) * feature scaling. Weights in torch layout (out, in).
#pragma once
#include <cstdint>
#include <vector>

namespace cuvi {

template <class T>
struct FcDecoderLayer {
  const T* weight = nullptr;  // (n_out, n_in): input columns [h (or z | cont) | covariate one-hots]
  const T* bias = nullptr;    // (n_out) or null
  int64_t n_out = 0, n_in = 0;
};

template <class T>
struct FcDecoderView {
  std::vector<FcDecoderLayer<T>> layers;  // layer 0 n_in = n_latent + n_cont + n_cov, layer l n_in = H + n_cov
  const T* out_weight = nullptr;          // (n_features, H_last) px_scale head
  const T* out_bias = nullptr;            // (n_features) or null
  int64_t n_features = 0, n_latent = 0, n_cont = 0, n_cov = 0;
  bool inject_covariates = true;  // one-hots into every layer (deeply_inject_covariates), else layer 0 only
  double ln_eps = 1e-5;

  int64_t cov_columns(size_t layer) const { return layer == 0 || inject_covariates ? n_cov : 0; }
};

// One chunk of cells at which the decoder is differentiated (host or backend memory, by the caller's contract).
template <class T>
struct DecoderPoint {
  int64_t n_cells = 0;
  const T* z = nullptr;             // (N, n_latent) the latent point (posterior means)
  const T* cont = nullptr;          // (N, n_cont) or null
  const T* cov = nullptr;           // (N, n_cov) one-hots (or their replacements) or null
  const T* log_library = nullptr;   // (N) library on the log scale
  const T* fs_indicator = nullptr;  // (N, n_fs_rows) feature-scaling indicator or null (no scaling)
  const T* fs_table = nullptr;      // (n_fs_rows, n_features) softplus(gamma) / 0.7 rows, null with no scaling
  int64_t n_fs_rows = 0;
};

}  // namespace cuvi
