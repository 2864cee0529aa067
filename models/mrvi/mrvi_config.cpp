// MrviConfig validation, the model-file string map and a readable summary (spec/mrvi.md §2-4).
#include "models/mrvi/mrvi_config.h"

#include <sstream>

#include "engine/error.h"

namespace cuvi::models {
namespace {

std::string num(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}
std::string flag(bool b) { return b ? "1" : "0"; }

void put_attention(std::map<std::string, std::string>& m, const std::string& p, const MrviAttentionOptions& a) {
  m[p + ".n_hidden"] = std::to_string(a.n_hidden);
  m[p + ".n_layers"] = std::to_string(a.n_layers);
  m[p + ".n_latent_sample"] = std::to_string(a.n_latent_sample);
  m[p + ".n_channels"] = std::to_string(a.n_channels);
  m[p + ".n_heads"] = std::to_string(a.n_heads);
  m[p + ".dropout_rate"] = num(a.dropout_rate);
  m[p + ".stop_gradients"] = flag(a.stop_gradients);
  m[p + ".stop_gradients_mlp"] = flag(a.stop_gradients_mlp);
}

void check_attention(const std::string& p, const MrviAttentionOptions& a) {
  CUVI_CHECK(a.n_hidden > 0 && a.n_layers > 0 && a.n_latent_sample > 0 && a.n_channels > 0 && a.n_heads > 0,
             p + ": n_hidden, n_layers, n_latent_sample, n_channels and n_heads must be positive");
  CUVI_CHECK(a.dropout_rate >= 0 && a.dropout_rate < 1, p + ": dropout_rate must be in [0, 1)");
}

}  // namespace

MrviConfig::MrviConfig() = default;

void MrviConfig::validate() const {
  CUVI_CHECK(n_genes > 0, "the data have no genes");
  CUVI_CHECK(n_sample >= 1, "MRVI needs at least one sample (--sample-key)");
  CUVI_CHECK(n_batch >= 1 && n_labels >= 1, "at least one batch and one label category are needed");
  CUVI_CHECK(n_latent > 0 && n_latent_u > 0, "--n-latent and --n-latent-u must be positive");
  CUVI_CHECK(encoder_n_hidden > 0 && encoder_n_layers > 0, "encoder_n_hidden and encoder_n_layers must be positive");
  CUVI_CHECK(!u_prior_mixture || n_mixture() >= 1, "u_prior_mixture_k must be positive");
  CUVI_CHECK(label_prior == "per-cell" || label_prior == "parity",
             "--label-prior '" + label_prior + "' is not one of: per-cell, parity");
  check_attention("qz", qz);
  check_attention("px", px);
}

std::map<std::string, std::string> MrviConfig::to_map() const {
  std::map<std::string, std::string> m = {
      {"model", "MRVI"},
      {"n_genes", std::to_string(n_genes)},
      {"n_sample", std::to_string(n_sample)},
      {"n_batch", std::to_string(n_batch)},
      {"n_labels", std::to_string(n_labels)},
      {"n_latent", std::to_string(n_latent)},
      {"n_latent_u", std::to_string(n_latent_u)},
      {"encoder_n_hidden", std::to_string(encoder_n_hidden)},
      {"encoder_n_layers", std::to_string(encoder_n_layers)},
      {"z_u_prior", flag(z_u_prior)},
      {"z_u_prior_scale", num(z_u_prior_scale)},
      {"u_prior_scale", num(u_prior_scale)},
      {"u_prior_mixture", flag(u_prior_mixture)},
      {"u_prior_mixture_k", std::to_string(u_prior_mixture_k)},
      {"learn_z_u_prior_scale", flag(learn_z_u_prior_scale)},
      {"scale_observations", flag(scale_observations)},
      {"label_prior", label_prior},
      {"qz.use_map", flag(qz_use_map)},
      {"px.low_dim_batch", flag(px_low_dim_batch)}};
  put_attention(m, "qz", qz);
  put_attention(m, "px", px);
  return m;
}

MrviConfig MrviConfig::from_map(const std::map<std::string, std::string>& m) {
  auto get = [&](const std::string& k) {
    auto it = m.find(k);
    CUVI_CHECK(it != m.end(), "model configuration lacks '" + k + "'");
    return it->second;
  };
  auto i64 = [&](const std::string& k) { return int64_t(std::stoll(get(k))); };
  auto f64 = [&](const std::string& k) { return std::stod(get(k)); };
  auto b = [&](const std::string& k) { return get(k) == "1"; };
  CUVI_CHECK(get("model") == "MRVI", "not an MRVI configuration (model '" + get("model") + "')");
  MrviConfig c;
  c.n_genes = i64("n_genes");
  c.n_sample = i64("n_sample");
  c.n_batch = i64("n_batch");
  c.n_labels = i64("n_labels");
  c.n_latent = i64("n_latent");
  c.n_latent_u = i64("n_latent_u");
  c.encoder_n_hidden = i64("encoder_n_hidden");
  c.encoder_n_layers = int(i64("encoder_n_layers"));
  c.z_u_prior = b("z_u_prior");
  c.z_u_prior_scale = f64("z_u_prior_scale");
  c.u_prior_scale = f64("u_prior_scale");
  c.u_prior_mixture = b("u_prior_mixture");
  c.u_prior_mixture_k = i64("u_prior_mixture_k");
  c.learn_z_u_prior_scale = b("learn_z_u_prior_scale");
  c.scale_observations = b("scale_observations");
  c.label_prior = get("label_prior");
  c.qz_use_map = b("qz.use_map");
  c.px_low_dim_batch = b("px.low_dim_batch");
  for (auto [p, a] : {std::pair<const char*, MrviAttentionOptions*>{"qz", &c.qz}, {"px", &c.px}}) {
    const std::string s = p;
    a->n_hidden = i64(s + ".n_hidden");
    a->n_layers = int(i64(s + ".n_layers"));
    a->n_latent_sample = i64(s + ".n_latent_sample");
    a->n_channels = i64(s + ".n_channels");
    a->n_heads = i64(s + ".n_heads");
    a->dropout_rate = f64(s + ".dropout_rate");
    a->stop_gradients = b(s + ".stop_gradients");
    a->stop_gradients_mlp = b(s + ".stop_gradients_mlp");
  }
  c.validate();
  return c;
}

std::string MrviConfig::describe() const {
  std::ostringstream s;
  s << "MRVI: " << n_genes << " genes, " << n_sample << " sample" << (n_sample == 1 ? "" : "s") << ", " << n_batch
    << " batch" << (n_batch == 1 ? "" : "es") << ", " << n_labels << " label" << (n_labels == 1 ? "" : "s") << "\n"
    << "  n_latent (z) " << n_latent << ", n_latent_u (u) " << n_latent_u << ", encoder_n_hidden " << encoder_n_hidden
    << ", encoder_n_layers " << encoder_n_layers << "\n"
    << "  prior on u: ";
  if (u_prior_mixture)
    s << "mixture of " << n_mixture() << " Gaussians"
      << (labels_guide_prior() ? " guided by the labels (" + label_prior + ")" : "");
  else
    s << "normal, log scale " << u_prior_scale;
  s << "; z|u prior " << (z_u_prior ? "on" : "off") << " (log scale "
    << (learn_z_u_prior_scale ? std::string("learned") : num(z_u_prior_scale)) << ")"
    << (scale_observations ? "; loss scaled by cells per sample" : "") << "\n"
    << "  qz: use_map " << qz_use_map << ", stop_gradients " << qz.stop_gradients << ", stop_gradients_mlp "
    << qz.stop_gradients_mlp << ", dropout " << qz.dropout_rate << ", n_hidden " << qz.n_hidden << "\n"
    << "  px: low_dim_batch " << px_low_dim_batch << ", stop_gradients " << px.stop_gradients
    << ", stop_gradients_mlp " << px.stop_gradients_mlp << ", dropout " << px.dropout_rate << ", n_hidden "
    << px.n_hidden;
  return s.str();
}

}  // namespace cuvi::models
