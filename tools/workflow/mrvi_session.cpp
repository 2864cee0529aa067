// MRVI latent representations: eval-mode forward per minibatch, u or z downloaded into host arrays.
#include "tools/workflow/mrvi_session.h"

#include "tools/workflow/mrvi_counterfactual.h"

namespace cuvi::workflow {
namespace {

constexpr uint32_t kLatentSteps = 0x80000000u;  // Philox steps of inference draws (training uses < 2^31)
constexpr uint32_t kNormalizeSteps = 0xA0000000u;

}  // namespace

MrviSession::MrviSession(Backend& backend, models::MrviModel& model, PreparedData& data, int64_t batch_size,
                         const LoaderOptions& loader, size_t extra_bytes)
    : InferenceSession(backend, model, data, batch_size, loader, extra_bytes), m_model(model) {}

std::vector<float> MrviSession::latent(bool give_z, bool use_mean, uint64_t seed) {
  const models::MrviConfig& c = m_model.config();
  const int64_t R = m_data->n_rows(), D = give_z ? c.n_latent : c.n_latent_u;
  std::vector<float> out(size_t(R * D));
  m_backend.ctx().seed = seed;
  for_each_batch(kLatentSteps, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    models::Graph g{tape, m_model.params(), false, nullptr};
    models::MrviForwardOptions fo;
    fo.use_mean = use_mean;
    fo.compute_loss = false;
    const models::MrviOutputs o = m_model.module().forward(g, m_model.inputs(tape, mb), fo);
    download_rows(m_backend, tape.value(give_z ? o.z : o.u), out.data(), row0, D);
  });
  return out;
}

std::vector<float> MrviSession::normalized_expression(const NormalizeOptions& opt, uint64_t seed) {
  const models::MrviConfig& c = m_model.config();
  const int64_t R = m_data->n_rows(), G = c.n_genes;
  const std::vector<int64_t> genes = normalize_genes(opt, G);
  for (int64_t b : opt.transform_batches) CUVI_CHECK(b >= 0 && b < c.n_batch, "transform_batch code out of range");
  const int64_t Gs = int64_t(genes.size());
  std::vector<float> out(size_t(R * Gs), 0.f);
  std::vector<int64_t> batches = opt.transform_batches;
  if (batches.empty()) batches.push_back(-1);
  m_backend.ctx().seed = seed;
  const double w = 1.0 / double(opt.n_samples * int64_t(batches.size()));
  uint32_t pass = 0;
  for (int64_t s = 0; s < opt.n_samples; ++s) {
    // One u draw per sample pass, shared by its transform batches (scvi-tools decodes one inference
    // output under each batch).
    for_each_batch(kNormalizeSteps + (pass++ << 20), [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
      models::Graph g{tape, m_model.params(), false, nullptr};
      models::MrviForwardOptions fo;
      fo.compute_loss = false;
      models::MrviInputs in = m_model.inputs(tape, mb);
      const models::MrviOutputs o = m_model.module().forward(g, in, fo);
      for (int64_t tb : batches) {
        TensorId batch = in.batch;
        if (tb >= 0) {
          const Tensor& b = tape.value(in.batch);
          OpParams q;
          q.i[0] = 0;
          q.i[1] = tb;
          const TensorId col = tape.input(Tensor(b.data, DType::I32, b.device, Shape{mb.n, 1}));
          batch = tape.reshape(tape.apply1("replace_column", {col}, q), Shape{mb.n});
        }
        const models::MrviModule::PxOut px = m_model.module().decode(g, o.z, o.library, batch);
        accumulate_genes(m_backend, tape.value(opt.library_latent ? px.px_rate : px.h), genes,
                         opt.library_latent ? w : w * opt.library_size, row0, out.data());
      }
    });
  }
  return out;
}

MrviInference open_mrvi_inference(const std::string& model_path, const std::string& data_path, Backend& backend,
                                  uint64_t seed, int64_t batch_size, const LoaderOptions& loader, bool strict_counts,
                                  int64_t counterfactual_rows) {
  MrviFile file = read_mrvi(model_path);
  PreparedData data = prepare_data(data_path, file.file.registry.keys, &file.file.registry, strict_counts);
  return open_mrvi_inference(std::move(file), std::move(data), backend, seed, batch_size, loader,
                             counterfactual_rows);
}

MrviInference open_mrvi_inference(MrviFile file, PreparedData data, Backend& backend, uint64_t seed,
                                  int64_t batch_size, const LoaderOptions& loader, int64_t counterfactual_rows) {
  MrviInference s;
  s.file = std::move(file);
  s.data = std::move(data);
  s.model = load_mrvi_model(s.file, backend, seed);
  encode_sample_codes(s.data);
  const size_t extra = counterfactual_rows > 0 ? counterfactual_pass_bytes(s.file.config, counterfactual_rows) : 0;
  s.session = std::make_unique<MrviSession>(backend, *s.model, s.data, batch_size, loader, extra);
  return s;
}

}  // namespace cuvi::workflow
