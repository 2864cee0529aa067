// SCVI inference loops: eval-mode forward per minibatch, results downloaded into host arrays.
#include "tools/workflow/scvi_tasks.h"

#include <algorithm>

namespace cuvi::workflow {
namespace {

constexpr uint32_t kLatentSteps = 0x80000000u;     // Philox steps of inference draws (training uses < 2^31)
constexpr uint32_t kNormalizeSteps = 0xA0000000u;

}  // namespace

// Inference adds a few (N, G) tensors over the planned eval step (transform batches, averages).
ScviSession::ScviSession(Backend& backend, models::ScviModel& model, PreparedData& data, int64_t batch_size,
                         const LoaderOptions& loader)
    : InferenceSession(backend, model, data, batch_size, loader,
                       8 * size_t(std::min<int64_t>(batch_size, data.counts().n_rows)) *
                           size_t(data.counts().n_cols) * sizeof(float)),
      m_model(model) {}

std::vector<float> ScviSession::latent(bool give_mean, uint64_t seed, int64_t mc_samples) {
  const models::ScviConfig& c = m_model.config();
  const int64_t R = m_data->n_rows(), L = c.n_latent;
  std::vector<float> out(R * L);
  m_backend.ctx().seed = seed;
  const bool ln_mean = give_mean && c.latent_distribution == "ln";
  for_each_batch(kLatentSteps, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    models::Graph g{tape, m_model.params(), false, nullptr};
    models::ScviForwardOptions fo;
    fo.compute_loss = false;
    fo.z_from_mean = give_mean;
    const models::ScviOutputs o = m_model.module().forward(g, m_model.inputs(tape, mb), fo);
    TensorId result = give_mean ? o.qz_m : o.z;
    if (ln_mean) {
      // E[softmax(z)] by Monte Carlo, z ~ q(z|x): draw k uses Philox stream stream("qz") + k.
      const Tensor& m = tape.value(o.qz_m);
      Tensor acc = tape.arena().tensor(DType::F32, m.shape);
      m_backend.fill_zero(acc.data, acc.nbytes());
      const TensorId acc_id = tape.input(acc);
      const size_t mark = tape.arena().used();
      OpParams w;
      w.f[0] = 1.0 / double(mc_samples);
      for (int64_t k = 0; k < mc_samples; ++k) {
        const OpParams stream = models::params_i({int64_t(uint32_t(models::noise_stream("qz") + uint32_t(k)))});
        const TensorId eps = tape.apply1("randn_like", {o.qz_m}, stream);
        const TensorId z = tape.apply1("normal_rsample", {o.qz_m, o.qz_v, eps});
        const TensorId part = tape.apply1("scale", {tape.apply1("softmax_rows", {z})}, w);
        const TensorId sum = tape.apply1("add", {acc_id, part});
        m_backend.copy(acc.data, tape.value(sum).data, acc.nbytes());
        tape.arena().rewind(mark);
      }
      result = acc_id;
    }
    download_rows(m_backend, tape.value(result), out.data(), row0, L);
  });
  return out;
}

std::vector<float> ScviSession::normalized_expression(const NormalizeOptions& opt, uint64_t seed) {
  const models::ScviConfig& c = m_model.config();
  const int64_t R = m_data->n_rows(), G = c.n_genes;
  const std::vector<int64_t> genes = normalize_genes(opt, G);
  const int64_t Gs = int64_t(genes.size());
  std::vector<float> out(R * Gs, 0.f);
  std::vector<int64_t> batches = opt.transform_batches;
  if (batches.empty()) batches.push_back(-1);
  m_backend.ctx().seed = seed;
  const double w = 1.0 / double(opt.n_samples * int64_t(batches.size()));
  uint32_t pass = 0;
  for (int64_t s = 0; s < opt.n_samples; ++s)
    for (int64_t tb : batches) {
      for_each_batch(kNormalizeSteps + (pass++ << 20), [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
        models::Graph g{tape, m_model.params(), false, nullptr};
        models::ScviForwardOptions fo;
        fo.compute_loss = false;
        const models::ScviOutputs o = m_model.module().forward(g, m_model.inputs(tape, mb, tb), fo);
        accumulate_genes(m_backend, tape.value(opt.library_latent ? o.px_rate : o.px_scale), genes,
                         opt.library_latent ? w : w * opt.library_size, row0, out.data());
      });
    }
  return out;
}

}  // namespace cuvi::workflow
