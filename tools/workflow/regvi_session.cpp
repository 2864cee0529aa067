// RegularizedVI inference passes: latent, normalized expression and the DE scale function.
#include "tools/workflow/regvi_session.h"

#include <algorithm>
#include <cmath>

namespace cuvi::workflow {
namespace {

// Philox step bases of the passes; the fit passes share theirs, so per-feature and per-cell losses see the
// same z and library draws.
constexpr uint32_t kLatentSteps = 0, kExpressionSteps = 1u << 20, kFitSteps = 1u << 19;

}  // namespace

RegviSession::RegviSession(Backend& backend, models::RegviModel& model, PreparedData& data, int64_t batch_size,
                           const LoaderOptions& loader, size_t extra_bytes)
    : InferenceSession(backend, model, data, batch_size, loader, extra_bytes), m_model(model) {}

std::vector<float> RegviSession::latent(bool give_mean, uint64_t seed) {
  const int64_t R = m_data->n_rows(), K = m_model.config().total_latent();
  std::vector<float> out(size_t(R * K));
  m_backend.ctx().seed = seed;
  for_each_batch(kLatentSteps, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    models::Graph g{tape, m_model.params(), false, nullptr};
    models::RegviForwardOptions fo;
    fo.compute_loss = false;
    fo.z_from_mean = give_mean;
    const models::RegviOutputs o = m_model.forward(g, m_model.inputs(tape, mb), fo);
    download_rows(m_backend, tape.value(o.z), out.data(), row0, K);
  });
  return out;
}

std::vector<float> RegviSession::normalized_expression(const NormalizeOptions& opt, uint64_t seed, size_t modality) {
  const int64_t G = m_model.config().modalities.at(modality).n_features;
  const std::vector<int64_t> genes = normalize_genes(opt, G);
  CUVI_CHECK(opt.n_samples >= 1, "--n-samples must be >= 1");
  const int64_t R = m_data->n_rows();
  std::vector<float> out(size_t(R * int64_t(genes.size())), 0.f);
  m_backend.ctx().seed = seed;
  for (int64_t s = 0; s < opt.n_samples; ++s)
    for_each_batch(kExpressionSteps + uint32_t(s) * 65536u, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
      models::Graph g{tape, m_model.params(), false, nullptr};
      models::RegviForwardOptions fo;
      fo.compute_loss = false;
      const models::RegviOutputs o = m_model.forward(g, m_model.inputs(tape, mb), fo);
      const models::RegviModalityOut& m = o.m[modality];
      const double scale = (opt.library_latent ? 1.0 : opt.library_size) / double(opt.n_samples);
      accumulate_genes(m_backend, tape.value(opt.library_latent ? m.px_rate : m.px_scale), genes, scale, row0,
                       out.data());
    });
  return out;
}

std::vector<double> RegviSession::per_feature_nll(size_t modality, uint64_t seed) {
  const models::RegviConfig& c = m_model.config();
  const int64_t F = c.modalities.at(modality).n_features;
  std::vector<double> sum(size_t(F), 0.0);
  int64_t used = 0;
  m_backend.ctx().seed = seed;
  std::vector<float> x, mu, theta;
  for_each_batch(kFitSteps, [&](Tape& tape, const MiniBatch& mb, int64_t) {
    models::Graph g{tape, m_model.params(), false, nullptr};
    models::RegviForwardOptions fo;
    fo.compute_loss = false;
    const models::RegviInputs in = m_model.inputs(tape, mb);
    const models::RegviOutputs o = m_model.forward(g, in, fo);
    auto get = [&](TensorId id, std::vector<float>& h) {
      const Tensor& t = tape.value(id);
      h.resize(size_t(t.numel()));
      m_backend.download(h.data(), t.data, t.nbytes());
    };
    get(in.x[modality], x);
    get(o.m[modality].px_rate, mu);
    get(o.m[modality].theta, theta);
    const bool per_cell_theta = int64_t(theta.size()) == mb.n * F;
    for (int64_t n = 0; n < mb.n; ++n) {
      double total = 0;
      for (int64_t f = 0; f < F; ++f) total += x[n * F + f];
      if (c.multimodal && !(total > 0)) continue;  // the modality mask
      ++used;
      for (int64_t f = 0; f < F; ++f) {
        const double xv = x[n * F + f], m = mu[n * F + f], th = theta[per_cell_theta ? n * F + f : f];
        const double ll = std::lgamma(xv + th) - std::lgamma(th) - std::lgamma(xv + 1) + th * std::log(th / (th + m)) +
                          (xv > 0 ? xv * std::log(m / (th + m)) : 0.0);
        sum[f] -= ll;
      }
    }
  });
  for (double& s : sum) s /= double(std::max<int64_t>(1, used));
  return sum;
}

void RegviSession::fit_per_cell(uint64_t seed, std::vector<double>* recon, std::vector<double>* kl_local) {
  const int64_t R = m_data->n_rows();
  recon->assign(size_t(R), 0.0);
  kl_local->assign(size_t(R), 0.0);
  m_backend.ctx().seed = seed;
  std::vector<float> h;
  for_each_batch(kFitSteps, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    models::Graph g{tape, m_model.params(), false, nullptr};
    const models::RegviOutputs o = m_model.forward(g, m_model.inputs(tape, mb));
    auto add = [&](TensorId id, std::vector<double>* out) {
      if (id == kNoTensor) return;
      const Tensor& t = tape.value(id);
      h.resize(size_t(t.numel()));
      m_backend.download(h.data(), t.data, t.nbytes());
      for (int64_t n = 0; n < mb.n; ++n) (*out)[row0 + n] += h[n];
    };
    add(o.recon, recon);
    add(o.kl_z, kl_local);
    add(o.kl_l, kl_local);
  });
}

std::vector<double> RegviSession::mean_px_scale(size_t modality, uint64_t seed) {
  const int64_t F = m_model.config().modalities.at(modality).n_features;
  std::vector<double> sum(size_t(F), 0.0);
  std::vector<float> h;
  m_backend.ctx().seed = seed;
  for_each_batch(kFitSteps, [&](Tape& tape, const MiniBatch& mb, int64_t) {
    models::Graph g{tape, m_model.params(), false, nullptr};
    models::RegviForwardOptions fo;
    fo.compute_loss = false;
    const models::RegviOutputs o = m_model.forward(g, m_model.inputs(tape, mb), fo);
    const Tensor& t = tape.value(o.m[modality].px_scale);
    h.resize(size_t(t.numel()));
    m_backend.download(h.data(), t.data, t.nbytes());
    for (int64_t n = 0; n < mb.n; ++n)
      for (int64_t f = 0; f < F; ++f) sum[f] += h[n * F + f];
  });
  for (double& s : sum) s /= double(std::max<int64_t>(1, m_data->n_rows()));
  return sum;
}

std::vector<RegviDecoderNorms> regvi_decoder_norms(const models::RegviModel& model) {
  const models::RegviConfig& c = model.config();
  const int64_t cov = models::fc_onehot_width(c.n_cats_nn);
  std::vector<RegviDecoderNorms> out;
  for (size_t m = 0; m < c.modalities.size(); ++m) {
    const int w0 = model.module().modality_params()[m].px_decoder.layers().at(0).weight;
    const std::vector<float> w = model.params().get(w0);
    const int64_t cols = model.params().entry(w0).shape[1], rows = model.params().entry(w0).shape[0];
    RegviDecoderNorms d;
    d.modality = c.modalities[m].name.empty() ? "counts" : c.modalities[m].name;
    d.n_cov_dims = cov;
    d.n_z_dims = cols - cov;
    double zs = 0, cs = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < cols; ++k) (k < d.n_z_dims ? zs : cs) += double(w[r * cols + k]) * w[r * cols + k];
    d.z_norm = std::sqrt(zs);
    d.cov_norm = std::sqrt(cs);
    d.cov_fraction = d.z_norm + d.cov_norm > 0 ? d.cov_norm / (d.z_norm + d.cov_norm) : 0.0;
    out.push_back(d);
  }
  return out;
}

ResultTable regvi_covariate_effects(RegviInference& inf, RegviSession& session, uint64_t seed) {
  const models::RegviModel& model = *inf.model;
  const models::RegviConfig& c = model.config();
  const ParamStore& ps = model.params();
  const RegviKeys keys = inf.file.keys.resolved();
  const DataRegistry& reg = inf.file.file.registry;
  auto categories = [&](const std::string& key) -> std::vector<std::string> {
    for (size_t j = 0; j < reg.keys.categorical_covariate_keys.size(); ++j)
      if (reg.keys.categorical_covariate_keys[j] == key) return reg.covariate_categories.at(j);
    return {"0"};  // no key: the single group
  };
  // Column names of a concatenated one-hot block: "<prefix>:<key>=<category>".
  auto block_names = [&](const std::string& prefix, const std::vector<std::string>& ks) {
    std::vector<std::string> names;
    if (ks.empty()) names.push_back(prefix);
    for (const std::string& k : ks)
      for (const std::string& cat : categories(k)) names.push_back(prefix + ":" + k + "=" + cat);
    return names;
  };
  const std::vector<std::string> disp_names =
      block_names("theta", keys.dispersion_key.empty() ? std::vector<std::string>{} : std::vector<std::string>{keys.dispersion_key});
  const std::vector<std::string> scale_names = block_names("scaling", keys.feature_scaling_covariate_keys);
  const std::vector<std::string> bg_names = block_names("background", keys.ambient_covariate_keys);
  ResultTable t;
  t.index_name = "feature";
  std::vector<std::string> modality;
  std::vector<double> rho;
  std::vector<std::vector<double>> theta(disp_names.size()), scaling(scale_names.size()), bg(bg_names.size());
  for (size_t m = 0; m < c.modalities.size(); ++m) {
    const models::RegviModality& md = c.modalities[m];
    const models::RegviModule::ModalityParams& P = model.module().modality_params()[m];
    const std::vector<std::string>& names = md.name == "atac" ? inf.data.registry.regions : inf.data.registry.genes;
    const std::vector<double> r = session.mean_px_scale(m, seed);
    const int64_t F = md.n_features;
    const std::vector<float> mu = ps.get(P.px_r_mu);
    const int64_t D = md.per_group_dispersion() ? c.n_dispersion_cats : 1;
    const std::vector<float> gam = P.scaling >= 0 ? ps.get(P.scaling) : std::vector<float>{};
    const std::vector<float> beta = P.background >= 0 ? ps.get(P.background) : std::vector<float>{};
    const int64_t E = c.total_ambient();
    for (int64_t f = 0; f < F; ++f) {
      t.index.push_back(names.at(f));
      modality.push_back(md.name.empty() ? "counts" : md.name);
      rho.push_back(r[f]);
      for (size_t d = 0; d < theta.size(); ++d)
        theta[d].push_back(std::exp(double(mu[f * D + (D == 1 ? 0 : int64_t(d))])));
      for (size_t k = 0; k < scaling.size(); ++k) {
        const bool have = !gam.empty() && int64_t(gam.size()) == int64_t(scaling.size()) * F;
        const double z = have ? gam[k * F + f] : NAN;
        scaling[k].push_back(have ? (std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z)))) / 0.7 : NAN);
      }
      for (size_t e = 0; e < bg.size(); ++e)
        bg[e].push_back(!beta.empty() && int64_t(e) < E ? std::exp(double(beta[f * E + int64_t(e)])) : NAN);
    }
  }
  t.add("modality", ResultColumn::Text).text = modality;
  t.add("px_scale_mean", ResultColumn::F64).num = rho;
  for (size_t d = 0; d < theta.size(); ++d) t.add(disp_names[d], ResultColumn::F64).num = theta[d];
  for (size_t k = 0; k < scaling.size(); ++k) t.add(scale_names[k], ResultColumn::F64).num = scaling[k];
  for (size_t e = 0; e < bg.size(); ++e) t.add(bg_names[e], ResultColumn::F64).num = bg[e];
  return t;
}

TensorId RegviScales::scale(Tape& tape, const MiniBatch& mb, int64_t) {
  models::RegviModel& model = m_session.model();
  models::Graph g{tape, model.params(), false, nullptr};
  models::RegviForwardOptions fo;
  fo.compute_loss = false;
  return model.forward(g, model.inputs(tape, mb), fo).m[0].px_scale;
}

DeResult regvi_differential_expression(RegviInference& inf, RegviSession& session, const DeOptions& opt) {
  CUVI_CHECK(!inf.model->config().multimodal,
             "differential expression needs an AmbientRegularizedSCVI model (RegularizedMultimodalVI has none, as in "
             "regularizedvi)");
  RegviScales scales(session);
  DeTask task;
  task.model = &scales;
  task.scheme = DrawScheme::PosteriorPairs;
  task.data = &inf.data;
  task.features = inf.data.registry.genes;
  task.n_batch = 1;
  task.stats = RawStatsKind::Expression;
  return run_differential(task, opt);
}

}  // namespace cuvi::workflow
