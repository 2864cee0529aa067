// RegularizedVI data-driven initialisation (regularizedvi.md §4, §8): library-size prior buffers per group,
// decoder-bias targets ("mean" / "topN"), per-category ambient background and the method-of-moments
// dispersion, all from one modality's host count matrix; apply_data_init writes them into a model.
#pragma once
#include <string>
#include <vector>

#include "engine/csr_view.h"
#include "models/regularized_vi/regvi_model.h"

namespace cuvi::models {

struct RegviLibraryPrior {
  std::vector<float> means, vars;  // (P) centred means + log(sens), variances * weight
  float global_log_mean = 0, log_sensitivity = 0;
};
// Per group: mean and population variance of log(total) (zero totals count as 0; empty groups keep 0 / 1).
RegviLibraryPrior library_prior_of(const std::vector<double>& totals, const std::vector<int32_t>& group, int64_t n_groups,
                                   double vars_weight, double sensitivity);

// Per-feature decoder-bias target v (before softplus^-1): each cell scaled to mean(max(total, 1)) / sens,
// then the mean over cells ("mean") or over the top min(int(0.01 N), 500) cells ("topN", all when 0).
std::vector<double> decoder_bias_target(const CsrView& x, const std::string& mode, double sensitivity);
// The bias regularizedvi writes: softplus^-1(max(v', 0.01)) (v' itself above 20; NaN/inf -> 0.01), with
// v' = softplus^-1(max(m softplus(v), 1e-8)) for a decoder_bias_multiplier m != 1 (quirk §12.8: applied
// to the target before the module's inverse softplus, not m v).
std::vector<float> decoder_bias_of(const std::vector<double>& target, double multiplier = 1.0);

// (G, E) background init: log(max(fraction * mean normalised expression of the category's cells, 1e-8)) per
// concatenated ambient category (log 1e-8 for an empty one). ambient: (R, n_keys) raw codes.
std::vector<float> background_init_of(const CsrView& x, const std::vector<int32_t>& ambient,
                                      const std::vector<int64_t>& n_cats, double fraction, double sensitivity);

struct DispersionMoM {
  std::vector<float> log_theta;  // (G) clipped, log
  double suggested_mean = 0;     // mean of 1/sqrt(theta) (sqrt(theta) for "sqrt"), before the [1e-4, 100] clip
};
DispersionMoM dispersion_mom(const CsrView& x, double bio_frac, double theta_min, double theta_max,
                             const std::string& direction);

// Data for one modality's init: its counts and the per-cell library and ambient codes.
struct RegviInitData {
  std::vector<CsrView> counts;  // per modality (model order)
  const RegviCells* cells = nullptr;
};
// regularizedvi's dispersion_init="data" changes the hyper-prior mean before the module exists: resolve it
// into `config` (per modality) and return the per-feature log theta to add at apply_data_init.
std::vector<std::vector<float>> resolve_dispersion_init(RegviConfig& config, const RegviInitData& d);
// Library buffers, decoder biases, background init and (when given) the MoM dispersion means, written
// over the model's random init with regularizedvi's noise kept (N(0, 0.1) on m, N(0, 0.01) on beta).
void apply_data_init(RegviModel& model, const RegviInitData& d, const std::vector<std::vector<float>>& log_theta = {});

}  // namespace cuvi::models
