// Exact modality attribution of an FCLayers decoder on a backend (regularizedvi.md §9, get_modality_attribution):
// A[n, k] = (1/F) sum_f |d px_rate_nf / d z_nk| by forward mode for every latent column at once. One layer is the
// closed form J = e^l diag(Y softplus'(o)) W_out diag(1[u > 0]) J_LN W_in[:, z]; deeper layers chain it.
#pragma once
#include <cstdint>

#include "engine/backend.h"
#include "kernels/common/fc_decoder.h"

namespace cuvi {

using DecoderWeights = FcDecoderView<float>;  // host pointers

// attribution: (p.n_cells, dec.n_latent) host memory. Every pointer of dec and p is host memory; cells are
// processed in chunks of at most chunk_cells (0: sized so the head's (F, cells * K) tangent stays bounded).
// Fails (cuvi::Error) on shapes that disagree or non-finite inputs.
void decoder_attribution(Backend& backend, const DecoderWeights& dec, const DecoderPoint<float>& p,
                         float* attribution, int64_t chunk_cells = 0);

}  // namespace cuvi
