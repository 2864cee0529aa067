// MULTIVI inference: eval-mode forward passes per minibatch (z at the posterior mean unless asked),
// results downloaded into host arrays in row order.
#include "tools/workflow/multivi_session.h"

#include <cmath>

#include "tools/workflow/multiome_data.h"

namespace cuvi::workflow {
namespace {

constexpr uint32_t kLatentSteps = 0x80000000u;      // Philox steps of inference draws (training uses < 2^31)
constexpr int64_t kExpressionSteps = 0x90000000ll;
constexpr int64_t kAccessibilitySteps = 0xA0000000ll;

// Columns `keep` of a (n, F) host block (all when empty), appended row by row.
void append_columns(const std::vector<float>& block, int64_t n, int64_t F, const std::vector<int64_t>& keep,
                    std::vector<float>& out) {
  for (int64_t i = 0; i < n; ++i) {
    const float* r = block.data() + i * F;
    if (keep.empty())
      out.insert(out.end(), r, r + F);
    else
      for (int64_t j : keep) out.push_back(r[j]);
  }
}

// Beyond the planned eval step (which works from the decoder's logits): p and the two normalised copies
// of the accessibility outputs, sigmoid(region factors), with alignment slack.
size_t analysis_bytes(const models::MultiviModel& model, int64_t batch_size) {
  const size_t R = size_t(model.config().n_regions);
  return (3 * size_t(batch_size) * R + R) * sizeof(float) + (64 << 10);
}

}  // namespace

MultiviSession::MultiviSession(Backend& backend, models::MultiviModel& model, PreparedData& data, int64_t batch_size,
                               const LoaderOptions& loader, size_t extra_bytes)
    : InferenceSession(backend, model, data, batch_size, loader, extra_bytes + analysis_bytes(model, batch_size)),
      m_model(model) {
  const models::MultiviConfig& c = model.config();
  CUVI_CHECK(c.modality_weights != "cell" || data.data.counts.n_rows == c.n_obs,
             "this model has per-cell modality weights: it can only be applied to its training data (" +
                 std::to_string(c.n_obs) + " cells), as in scvi-tools");
}

std::vector<int32_t> MultiviSession::rows_or_all(const std::vector<int32_t>& rows) const {
  return rows.empty() ? m_all_rows : rows;
}

std::vector<float> MultiviSession::latent(const std::string& modality, bool give_mean, uint64_t seed) {
  CUVI_CHECK(modality == "joint" || modality == "expression" || modality == "accessibility",
             "--modality must be joint, expression or accessibility, got '" + modality + "'");
  const int64_t R = m_data->n_rows(), L = m_model.config().n_latent;
  std::vector<float> out(size_t(R * L));
  m_backend.ctx().seed = seed;
  for_each_batch(kLatentSteps, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    models::Graph g{tape, m_model.params(), false, nullptr};
    models::MultiviForwardOptions fo;
    fo.compute_loss = false;
    fo.decode = false;
    fo.z_from_mean = give_mean;
    const models::MultiviOutputs o = m_model.module().forward(g, m_model.inputs(tape, mb), fo);
    TensorId t = o.qz_m;
    if (modality == "joint") {
      if (!give_mean) t = o.z;
      else if (m_model.config().latent_distribution == "ln")  // softmax of one sample, as scvi-tools
        t = g.apply("softmax_rows", {g.apply("normal_rsample", {o.qz_m, o.qz_v, models::normal_noise(g, "qz", o.qz_m)})});
    } else {
      const TensorId m = modality == "expression" ? o.qzm_expr : o.qzm_acc;
      const TensorId v = modality == "expression" ? o.qzv_expr : o.qzv_acc;
      t = give_mean ? m : g.apply("normal_rsample", {m, v, models::normal_noise(g, "q_" + modality, m)});
      if (m_model.config().latent_distribution == "ln" && !give_mean) t = g.apply("softmax_rows", {t});
    }
    download_rows(m_backend, tape.value(t), out.data(), row0, L);
  });
  return out;
}

std::vector<float> MultiviSession::normalized_expression(const MultiviExpressionOptions& opt, uint64_t seed,
                                                         const std::vector<int32_t>& rows) {
  const int64_t G = m_model.config().n_genes;
  for (int64_t g : opt.genes) CUVI_CHECK(g >= 0 && g < G, "gene index out of range");
  const std::vector<int64_t> tbs = opt.transform_batches.empty() ? std::vector<int64_t>{-1} : opt.transform_batches;
  const std::vector<int32_t> use = rows_or_all(rows);
  const int64_t n = int64_t(use.size()), F = opt.genes.empty() ? G : int64_t(opt.genes.size());
  std::vector<double> sum(size_t(n * F), 0.0);
  m_backend.ctx().seed = seed;
  std::vector<float> host, block;
  int64_t steps = kExpressionSteps;
  for (int64_t tb : tbs) {
    block.clear();
    steps += for_each_row_batch(*this, use, m_batch_size, steps, [&](Tape& tape, const MiniBatch& mb, int64_t) {
      models::Graph g{tape, m_model.params(), false, nullptr};
      models::MultiviForwardOptions fo;
      fo.compute_loss = false;
      fo.z_from_mean = opt.use_z_mean;
      const models::MultiviOutputs o = m_model.module().forward(g, m_model.inputs(tape, mb, tb, true), fo);
      const Tensor& t = tape.value(o.px_scale);
      host.resize(size_t(t.numel()));
      m_backend.download(host.data(), t.data, t.nbytes());
      append_columns(host, mb.n, G, opt.genes, block);
    });
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += block[i];
  }
  std::vector<float> out(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) out[i] = float(sum[i] / double(tbs.size()));
  return out;
}

std::vector<float> MultiviSession::accessibility(const AccessibilityOptions& opt, uint64_t seed,
                                                 const std::vector<int32_t>& rows) {
  const models::MultiviConfig& c = m_model.config();
  for (int64_t r : opt.regions) CUVI_CHECK(r >= 0 && r < c.n_regions, "region index out of range");
  CUVI_CHECK(!opt.normalize_regions || m_model.module().region_factors() >= 0,
             "normalize_regions: this model was trained without region factors");
  std::vector<float> out, host;
  m_backend.ctx().seed = seed;
  for_each_row_batch(*this, rows_or_all(rows), m_batch_size, kAccessibilitySteps,
                     [&](Tape& tape, const MiniBatch& mb, int64_t) {
                       models::Graph g{tape, m_model.params(), false, nullptr};
                       models::MultiviForwardOptions fo;
                       fo.compute_loss = false;
                       fo.z_from_mean = opt.use_z_mean;
                       const models::MultiviOutputs o =
                           m_model.module().forward(g, m_model.inputs(tape, mb, opt.transform_batch), fo);
                       TensorId p = o.p;
                       if (opt.normalize_cells) p = g.apply("mul", {p, o.libsize_acc});
                       if (opt.normalize_regions)
                         p = g.apply("mul", {p, g.apply("sigmoid", {g.p(m_model.module().region_factors())})});
                       const Tensor& t = tape.value(p);
                       host.resize(size_t(t.numel()));
                       m_backend.download(host.data(), t.data, t.nbytes());
                       append_columns(host, mb.n, c.n_regions, opt.regions, out);
                     });
  return out;
}

void MultiviSession::library_size_factors(std::vector<float>* expression, std::vector<float>* accessibility) {
  const int64_t R = m_data->n_rows();
  expression->assign(size_t(R), 0.f);
  accessibility->assign(size_t(R), 0.f);
  for_each_batch(kLatentSteps, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    models::Graph g{tape, m_model.params(), false, nullptr};
    models::MultiviForwardOptions fo;
    fo.compute_loss = false;
    fo.decode = false;
    fo.z_from_mean = true;
    const models::MultiviOutputs o = m_model.module().forward(g, m_model.inputs(tape, mb), fo);
    download_rows(m_backend, tape.value(o.libsize_expr), expression->data(), row0, 1);
    download_rows(m_backend, tape.value(o.libsize_acc), accessibility->data(), row0, 1);
  });
}

std::vector<float> MultiviSession::region_factors() const {
  const int id = m_model.module().region_factors();
  CUVI_CHECK(id >= 0, "region factors were not included in this model");
  std::vector<float> f = m_model.params().get(id);
  for (float& v : f) v = float(1.0 / (1.0 + std::exp(-double(v))));
  return f;
}

MultiviInference open_multivi_inference(const std::string& model_path, const std::string& data_path,
                                        const MultiomeKeys& sources, Backend& backend, uint64_t seed,
                                        int64_t batch_size, const LoaderOptions& loader, bool strict_counts,
                                        size_t extra_bytes) {
  MultiviInference s;
  s.file = read_multivi(model_path);
  SetupKeys keys = s.file.file.registry.keys;
  keys.multiome.rna_data = sources.rna_data;
  keys.multiome.atac_data = sources.atac_data;
  s.data = prepare_multiome(data_path, keys, &s.file.file.registry, strict_counts);
  s.model = load_multivi_model(s.file, backend, seed);
  encode_codes(s.data, s.model->module().layout());
  s.session = std::make_unique<MultiviSession>(backend, *s.model, s.data, batch_size, loader, extra_bytes);
  return s;
}

}  // namespace cuvi::workflow
