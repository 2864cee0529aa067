// Modality attribution of a loaded RegularizedVI model: one eval pass for z and the library, host copies of the
// decoder weights, the purpose codes of the cells, then the per-modality decoder attribution.
#include "tools/workflow/regvi_attribution_model.h"

#include "engine/error.h"
#include "tools/workflow/regvi_session.h"

namespace cuvi::workflow {

ModalityDecoder RegviDecoderWeights::view(const models::RegviConfig& c, int64_t z_width) const {
  ModalityDecoder md;
  md.name = name;
  md.n_latent = n_latent;
  DecoderWeights& d = md.decoder;
  for (size_t l = 0; l < w.size(); ++l) d.layers.push_back({w[l].data(), b[l].empty() ? nullptr : b[l].data(), n_out[l], n_in[l]});
  d.out_weight = out_w.data();
  d.out_bias = out_b.data();
  d.n_features = int64_t(out_b.size());
  d.n_latent = z_width;
  d.n_cont = c.n_continuous_cov;
  d.n_cov = models::fc_onehot_width(c.n_cats_nn);
  d.inject_covariates = c.deeply_inject_covariates;
  if (!scaling.empty()) {
    md.feature_scaling = scaling.data();
    md.feature_scaling_rows = scaling_rows;
  }
  return md;
}

std::vector<RegviDecoderWeights> regvi_decoder_weights(const models::RegviModel& model) {
  const models::RegviConfig& c = model.config();
  CUVI_CHECK(!c.bn_decoder() && c.ln_decoder(),
             "attribution needs regularizedvi's decoder layers (LayerNorm, no BatchNorm); this model has use_batch_norm "
             "'" + c.use_batch_norm + "', use_layer_norm '" + c.use_layer_norm + "'");
  const ParamStore& ps = model.params();
  std::vector<RegviDecoderWeights> out;
  for (size_t m = 0; m < c.modalities.size(); ++m) {
    const auto& P = model.module().modality_params()[m];
    RegviDecoderWeights d;
    d.name = c.modalities[m].name;
    d.n_latent = c.modalities[m].n_latent;
    for (const auto& layer : P.px_decoder.layers()) {
      const Shape& s = ps.entry(layer.weight).shape;
      d.w.push_back(ps.get(layer.weight));
      d.b.push_back(layer.bias >= 0 ? ps.get(layer.bias) : std::vector<float>());
      d.n_out.push_back(s.d[0]);
      d.n_in.push_back(s.d[1]);
    }
    d.out_w = ps.get(P.scale_w);
    d.out_b = ps.get(P.scale_b);
    if (P.scaling >= 0) {
      d.scaling = ps.get(P.scaling);
      d.scaling_rows = ps.entry(P.scaling).shape.d[0];
    }
    out.push_back(std::move(d));
  }
  return out;
}

RegviAttribution regvi_modality_attribution(RegviInference& inf, Backend& backend, RemoveCovariates remove,
                                            CovariateReference reference, uint64_t seed, int64_t batch_size) {
  models::RegviModel& model = *inf.model;
  const models::RegviConfig& c = model.config();
  CUVI_CHECK(c.multimodal, "attribution needs a RegularizedMultimodalVI model (regularizedvi's get_modality_attribution)");
  const std::vector<RegviDecoderWeights> decoders = regvi_decoder_weights(model);
  const size_t M = c.modalities.size();
  const bool sampled_z = c.latent_mode == "weighted_mean";  // regularizedvi differentiates at outputs["z"] there

  // Evaluation points: z and each modality's library, one pass over the cells in file order.
  RegviSession session(backend, model, inf.data, batch_size);
  const int64_t R = inf.data.counts().n_rows;
  RegviAttribution out;
  out.n_cells = R;
  std::vector<std::vector<float>> library(M, std::vector<float>(static_cast<size_t>(R)));
  backend.ctx().seed = seed;
  session.for_each_batch(0, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    models::Graph g{tape, model.params(), false, nullptr};
    models::RegviForwardOptions fo;
    fo.compute_loss = false;
    fo.z_from_mean = !sampled_z;
    const models::RegviOutputs o = model.forward(g, model.inputs(tape, mb), fo);
    const Tensor z = tape.value(o.z);
    if (out.z.empty()) {
      out.width = z.shape.d[1];
      out.z.resize(static_cast<size_t>(R * out.width));
    }
    download_rows(backend, z, out.z.data(), row0, out.width);
    for (size_t m = 0; m < M; ++m) download_rows(backend, tape.value(o.m[m].library), library[m].data(), row0, 1);
  });

  // Covariates: decoder one-hots (nn_conditioning keys) and feature-scaling rows, raw codes per key.
  models::RegviConfig sized = c;
  const models::RegviCells cells = regvi_cells(inf.data, inf.file.keys, &sized);
  AttributionRequest req;
  req.n_cells = R;
  req.z = out.z.data();
  req.cont = c.n_continuous_cov > 0 ? inf.data.cells.cont.data() : nullptr;
  req.nn_covariates = {c.n_cats_nn, cells.nn, R};
  req.fs_covariates = {c.n_cats_scaling, cells.scaling, R};
  req.nn_reference = most_frequent_codes(req.nn_covariates);
  req.fs_reference = most_frequent_codes(req.fs_covariates);
  req.remove = remove;
  req.reference = reference;
  for (size_t m = 0; m < M; ++m) {
    req.modalities.push_back(decoders[m].view(c, out.width));
    req.log_library.push_back(library[m].data());
  }
  out.modalities = modality_attribution(backend, req);
  return out;
}

}  // namespace cuvi::workflow
