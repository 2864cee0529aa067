// Differential-analysis statistics shared by every model (scvi-multivi.md §3.3-§3.6, §2.7): vanilla and
// change modes on paired posterior scale samples, pseudocounts, LFC summaries, FDR, and the raw-count
// statistics of expression (counts) and accessibility (fraction of cells with a read); no model involved.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/csr_view.h"
#include "io/csr.h"

namespace cuvi::workflow {

// n paired samples: row i of side 1 is compared with row i of side 2 (scvi pairs without
// permutation by default; with batch correction both sides are laid out batch by batch, so
// positional pairing is pairing within each batch). Each row points at G floats.
struct PairedScales {
  std::vector<const float*> s1, s2;  // (n) rows of (G)
  int64_t G = 0;
  int64_t n() const { return int64_t(s1.size()); }
};

// Per-gene column mean and population standard deviation of one side's samples.
void scale_moments(const std::vector<const float*>& rows, int64_t G, std::vector<double>* mean,
                   std::vector<double>* sd);

struct VanillaStats {
  std::vector<double> proba_m1, proba_m2, bayes_factor;  // (G)
};
// proba_m1 = mean 1[s1 > s2], proba_m2 = 1 - proba_m1, bayes_factor = ln(p1 + 1e-8) - ln(p2 + 1e-8).
VanillaStats vanilla_stats(const PairedScales& p);

struct ChangeStats {
  std::vector<double> proba_m1, proba_m2, proba_de, proba_not_de, bayes_factor;  // (G)
  std::vector<double> lfc_mean, lfc_median, lfc_std, lfc_min, lfc_max;          // (G)
  double delta = 0;                                                              // the threshold used
};
// r_i = log2(s1_i + pc) - log2(s2_i + pc); proba_m1 = mean 1[r >= delta], proba_m2 = mean 1[r < -delta];
// proba_de = max (test_mode "three") or sum ("two"). LFC summaries use pseudocount lfc_pc (= 1e-3 pc
// in scvi): mean, median, population std, min, max. Without delta (scvi's delta=None) it is
// estimate_delta of the per-gene means of r.
ChangeStats change_stats(const PairedScales& p, double pc, std::optional<double> delta, double lfc_pc,
                         bool two_sided_sum = false);

// scvi's estimate_delta: a three-component Gaussian mixture fitted to the per-gene LFC means (EM as
// sklearn's GaussianMixture: full variance + 1e-6, tolerance 1e-3 on the mean log-likelihood, at most
// 100 iterations), delta = max(min_thres, coef * mean(|lowest mean|, |highest mean|)). sklearn starts
// from a randomly seeded k-means; here k-means starts from the 1/6, 1/2 and 5/6 quantiles, so the
// result is deterministic and lies within sklearn's own seed-to-seed spread.
double estimate_delta(const std::vector<double>& lfc_means, double coef = 0.6, double min_thres = 0.1);

// numpy.quantile(v, q) with the default linear method.
double quantile_linear(std::vector<double> v, double q);

// scvi's estimate_pseudocounts_offset: per gene the max over rows of each side's scales; over the
// genes flagged zero in side A (resp. B) the `quantile` of those maxima (1e-10 when none);
// pc = max(1e-10, max(eps_a, eps_b) / G). Float32 like scvi's arrays.
double estimate_pseudocounts(const PairedScales& p, const std::vector<bool>& where_zero_a,
                             const std::vector<bool>& where_zero_b, double quantile = 0.9);

// Posterior expected FDR control: sort proba_de descending; FDR_k = sum_{j<=k}(1 - p_j) / k; the
// top d genes with FDR_k <= target are flagged. Ties keep the input order (stable sort).
std::vector<bool> fdr_de_prediction(const std::vector<double>& proba_de, double fdr_target);

// Columns [begin, end) of a count matrix: one modality of a concatenated multi-modal matrix (MULTIVI
// keeps genes, then regions, in one CSR). end < 0: up to the last column.
struct ColumnRange {
  int64_t begin = 0, end = -1;
  int64_t stop(const CsrView& m) const { return end < 0 ? m.n_cols : end; }
  int64_t size(const CsrView& m) const { return stop(m) - begin; }
};

// Raw-count statistics of one group (§3.6), in scvi's float arithmetic: `sparse` follows scipy's
// CSR paths (values scaled by float32(1/n) and summed in float32 in row order; the non-zero
// fraction sums float64 1/n per non-zero), otherwise numpy's dense paths (float32 column sums
// divided by n; the non-zero fraction is count / n). totals: float32 per-cell totals.
struct RawStats {
  std::vector<double> raw_mean, non_zeros_proportion, raw_normalized_mean;  // (G)
};
// Statistics and totals cover the columns `cols` only (features indexed from cols.begin).
RawStats raw_counts_properties(const CsrView& counts, const std::vector<int32_t>& rows,
                               const std::vector<float>& totals, bool sparse, ColumnRange cols = {});
// Per-cell totals as scipy/numpy sum a float32 matrix row (float32, in stored order).
std::vector<float> float32_totals(const CsrView& counts, ColumnRange cols = {});
// Genes whose mean count in `rows` is below threshold (float32 mean, as scvi's mask).
std::vector<bool> low_mean_genes(const CsrView& counts, const std::vector<int32_t>& rows, double threshold,
                                 ColumnRange cols = {});
// scvi-tools' scatac_raw_counts_properties: per region the fraction of the group's cells with a
// count > 0 (emp_mean, float64).
std::vector<double> fraction_positive(const CsrView& counts, const std::vector<int32_t>& rows,
                                      ColumnRange cols = {});

}  // namespace cuvi::workflow
