// RegularizedVI data-driven initialisation (regularizedvi.md §4, §8), in double on the host.
#include "models/regularized_vi/regvi_init.h"

#include <algorithm>
#include <cmath>

namespace cuvi::models {
namespace {

std::vector<double> row_totals(const CsrView& x) {
  std::vector<double> t(x.n_rows, 0.0);
  for (int64_t r = 0; r < x.n_rows; ++r)
    for (int64_t k = x.indptr[r]; k < x.indptr[r + 1]; ++k) t[r] += x.data[k];
  return t;
}

// Per cell the factor norm_target / max(total, 1), norm_target = mean(max(total, 1)) / sens.
std::vector<double> norm_factors(const CsrView& x, double sensitivity) {
  std::vector<double> lib = row_totals(x);
  double mean = 0;
  for (double& l : lib) {
    l = std::max(l, 1.0);
    mean += l;
  }
  mean /= double(std::max<int64_t>(1, x.n_rows));
  const double target = mean / (sensitivity > 0 ? sensitivity : 1.0);
  for (double& l : lib) l = target / l;
  return lib;
}

}  // namespace

RegviLibraryPrior library_prior_of(const std::vector<double>& totals, const std::vector<int32_t>& group, int64_t P,
                                   double vars_weight, double sensitivity) {
  std::vector<double> s1(P, 0), cnt(P, 0), mean(P, 0), var(P, 1);
  auto logt = [](double t) { return t > 0 ? std::log(t) : 0.0; };
  for (size_t i = 0; i < totals.size(); ++i) {
    s1[group[i]] += logt(totals[i]);
    cnt[group[i]] += 1;
  }
  for (int64_t p = 0; p < P; ++p)
    if (cnt[p] > 0) mean[p] = s1[p] / cnt[p];
  std::vector<double> s2(P, 0);
  for (size_t i = 0; i < totals.size(); ++i) {
    const double d = logt(totals[i]) - mean[group[i]];
    s2[group[i]] += d * d;
  }
  for (int64_t p = 0; p < P; ++p)
    if (cnt[p] > 0) var[p] = s2[p] / cnt[p];
  RegviLibraryPrior out;
  double global = 0;
  for (int64_t p = 0; p < P; ++p) global += double(float(mean[p]));
  global /= double(P);
  const double log_sens = sensitivity > 0 ? std::log(sensitivity) : 0.0;
  out.global_log_mean = float(global);
  out.log_sensitivity = float(log_sens);
  for (int64_t p = 0; p < P; ++p) {
    out.means.push_back(float(double(float(mean[p])) - global + log_sens));
    out.vars.push_back(float(double(float(var[p])) * (vars_weight > 0 ? vars_weight : 1.0)));
  }
  return out;
}

std::vector<double> decoder_bias_target(const CsrView& x, const std::string& mode, double sensitivity) {
  const std::vector<double> f = norm_factors(x, sensitivity);
  const int64_t G = x.n_cols, N = x.n_rows;
  std::vector<double> v(G, 0.0);
  if (mode == "mean") {
    for (int64_t r = 0; r < N; ++r)
      for (int64_t k = x.indptr[r]; k < x.indptr[r + 1]; ++k) v[x.indices[k]] += x.data[k] * f[r];
    for (double& a : v) a /= double(std::max<int64_t>(1, N));
    return v;
  }
  // topN: per gene, the mean of its n largest normalised values (n = 0: all cells).
  const int64_t n_top = std::min<int64_t>(int64_t(0.01 * double(N)), 500);
  std::vector<std::vector<double>> cols(G);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t k = x.indptr[r]; k < x.indptr[r + 1]; ++k) cols[x.indices[k]].push_back(x.data[k] * f[r]);
  for (int64_t gi = 0; gi < G; ++gi) {
    std::vector<double>& c = cols[gi];
    c.resize(size_t(N), 0.0);  // the zeros of the sparse column
    const int64_t n = n_top > 0 ? n_top : N;
    std::nth_element(c.begin(), c.begin() + (N - n), c.end());
    double s = 0;
    for (int64_t i = N - n; i < N; ++i) s += c[i];
    v[gi] = s / double(std::max<int64_t>(1, n));
  }
  return v;
}

std::vector<float> decoder_bias_of(const std::vector<double>& target, double multiplier) {
  std::vector<float> b(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    double v = std::isfinite(target[i]) ? target[i] : 0.01;
    if (multiplier != 1.0) {
      const double v32 = double(float(v));
      const double sp = std::max(v32, 0.0) + std::log1p(std::exp(-std::fabs(v32)));
      const double y = std::max(multiplier * sp, 1e-8);
      v = y > 20.0 ? y : std::log(std::expm1(y));
    }
    v = std::max(double(float(v)), 0.01);
    b[i] = float(softplus_inverse(v));
  }
  return b;
}

std::vector<float> background_init_of(const CsrView& x, const std::vector<int32_t>& ambient,
                                      const std::vector<int64_t>& n_cats, double fraction, double sensitivity) {
  const std::vector<double> f = norm_factors(x, sensitivity);
  const int64_t G = x.n_cols, N = x.n_rows, K = int64_t(n_cats.size());
  int64_t E = 0;
  for (int64_t c : n_cats) E += c;
  std::vector<double> sum(size_t(G * E), 0.0), cnt(size_t(E), 0.0);
  for (int64_t r = 0; r < N; ++r) {
    int64_t off = 0;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t e = off + ambient[r * K + k];
      cnt[e] += 1;
      for (int64_t j = x.indptr[r]; j < x.indptr[r + 1]; ++j) sum[x.indices[j] * E + e] += x.data[j] * f[r];
      off += n_cats[k];
    }
  }
  std::vector<float> out(size_t(G * E));
  for (int64_t gi = 0; gi < G; ++gi)
    for (int64_t e = 0; e < E; ++e) {
      const double mean = cnt[e] > 0 ? sum[gi * E + e] / cnt[e] : 0.0;
      out[gi * E + e] = float(std::log(cnt[e] > 0 ? std::max(fraction * mean, 1e-8) : 1e-8));
    }
  return out;
}

DispersionMoM dispersion_mom(const CsrView& x, double bio_frac, double theta_min, double theta_max,
                             const std::string& direction) {
  const int64_t G = x.n_cols, N = x.n_rows;
  std::vector<double> s1(G, 0), s2(G, 0);
  const std::vector<double> lib = row_totals(x);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t k = x.indptr[r]; k < x.indptr[r + 1]; ++k) {
      s1[x.indices[k]] += x.data[k];
      s2[x.indices[k]] += double(x.data[k]) * x.data[k];
    }
  double mL = 0, vL = 0;
  for (double l : lib) mL += l;
  mL /= double(N);
  for (double l : lib) vL += (l - mL) * (l - mL);
  vL /= double(N);
  const double cv2 = mL > 0 ? vL / (mL * mL) : 0.0;
  DispersionMoM out;
  double mom = 0;
  const double lo = theta_min > 0 ? std::max(theta_min, 1e-10) : 1e-10;
  for (int64_t gi = 0; gi < G; ++gi) {
    const double mu = s1[gi] / double(N);
    const double var = std::max(0.0, s2[gi] / double(N) - mu * mu);
    const double excess = var - mu - mu * mu * cv2;
    const double technical = excess / (1.0 + cv2) * (1.0 - bio_frac);
    const double theta = std::clamp(mu * mu / std::max(technical, 1e-10), lo, theta_max);
    out.log_theta.push_back(float(std::log(theta)));
    mom += direction == "sqrt" ? std::sqrt(theta) : 1.0 / std::sqrt(theta);
  }
  out.suggested_mean = mom / double(std::max<int64_t>(1, G));
  return out;
}

std::vector<std::vector<float>> resolve_dispersion_init(RegviConfig& config, const RegviInitData& d) {
  std::vector<std::vector<float>> out;
  if (config.dispersion_init != "data") return out;
  for (size_t i = 0; i < config.modalities.size(); ++i) {
    RegviModality& m = config.modalities[i];
    const DispersionMoM mom = dispersion_mom(d.counts.at(i), config.dispersion_init_bio_frac,
                                             config.dispersion_init_theta_min, config.dispersion_init_theta_max,
                                             m.dispersion_prior_direction);
    m.dispersion_hyper_prior_mean = std::clamp(mom.suggested_mean, 1e-4, 100.0);
    out.push_back(mom.log_theta);
  }
  return out;
}

void apply_data_init(RegviModel& model, const RegviInitData& d, const std::vector<std::vector<float>>& log_theta) {
  const RegviConfig& c = model.config();
  ParamStore& ps = model.params();
  CUVI_CHECK(d.counts.size() == c.modalities.size() && d.cells, "apply_data_init: one count matrix per modality");
  const RegviCells& cells = *d.cells;
  for (size_t i = 0; i < c.modalities.size(); ++i) {
    const RegviModality& md = c.modalities[i];
    const RegviModule::ModalityParams& P = model.module().modality_params()[i];
    const CsrView& x = d.counts[i];
    CUVI_CHECK(x.n_rows == cells.n_cells && x.n_cols == md.n_features, "apply_data_init: count matrix shape");
    const double sens = md.centering_sensitivity > 0 ? md.centering_sensitivity : 1.0;
    if (P.lib_means >= 0) {
      std::vector<double> totals(x.n_rows, 0.0);
      for (int64_t r = 0; r < x.n_rows; ++r)
        for (int64_t k = x.indptr[r]; k < x.indptr[r + 1]; ++k) totals[r] += x.data[k];
      const RegviLibraryPrior lp =
          library_prior_of(totals, cells.library, c.n_library_cats, md.library_log_vars_weight, md.centering_sensitivity);
      ps.set(P.lib_means, lp.means);
      ps.set(P.lib_vars, lp.vars);
      ps.set(P.lib_global_mean, {lp.global_log_mean});
      ps.set(P.lib_log_sens, {lp.log_sensitivity});
      ps.set(ps.find(P.names.l_encoder + ".mean_encoder.bias"), {lp.log_sensitivity});
    }
    if (c.init_decoder_bias != "none")
      ps.set(P.scale_b, decoder_bias_of(decoder_bias_target(x, c.init_decoder_bias, sens), md.decoder_bias_multiplier));
    if (P.background >= 0 && c.bg_init_gene_fraction > 0) {
      // Replace the prior-mean centre log(a/b) of the N(., 0.01) draws by the data value.
      const std::vector<float> v = background_init_of(x, cells.ambient, c.n_cats_ambient, c.bg_init_gene_fraction, sens);
      std::vector<float> beta = ps.get(P.background);
      const float centre = float(std::log(c.additive_bg_prior_alpha / c.additive_bg_prior_beta));
      for (size_t k = 0; k < beta.size(); ++k) beta[k] = beta[k] - centre + v[k];
      ps.set(P.background, beta);
    }
    if (i < log_theta.size() && !log_theta[i].empty() && c.regularise_dispersion) {
      const double mean = md.dispersion_hyper_prior_mean;
      const float centre = float(md.dispersion_prior_direction == "sqrt" ? 2 * std::log(mean) : -2 * std::log(mean));
      std::vector<float> m = ps.get(P.px_r_mu);
      const int64_t D = md.per_group_dispersion() ? c.n_dispersion_cats : 1;
      for (int64_t gi = 0; gi < md.n_features; ++gi)
        for (int64_t dd = 0; dd < D; ++dd) m[gi * D + dd] = m[gi * D + dd] - centre + log_theta[i][gi];
      ps.set(P.px_r_mu, m);
    }
  }
}

}  // namespace cuvi::models
