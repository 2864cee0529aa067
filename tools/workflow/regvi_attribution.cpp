// Modality attribution of RegularizedMultimodalVI (regularizedvi.md §9): covariate transforms, the per-modality
// decoder attribution and the store layout of store_attribution_results.
#include "tools/workflow/regvi_attribution.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "io/dataframe.h"

namespace cuvi::workflow {

RemoveCovariates parse_remove_covariates(const std::string& s) {
  if (s == "False" || s == "false" || s == "none" || s.empty()) return RemoveCovariates::None;
  if (s == "cat_covs") return RemoveCovariates::CatCovs;
  if (s == "feature_scaling") return RemoveCovariates::FeatureScaling;
  if (s == "all" || s == "True" || s == "true") return RemoveCovariates::All;
  fail("remove_covariates must be False, 'cat_covs', 'feature_scaling', 'all' or True, got '" + s + "'");
}

CovariateReference parse_covariate_reference(const std::string& s) {
  if (s == "zero") return CovariateReference::Zero;
  if (s == "mean") return CovariateReference::Mean;
  if (s == "reference") return CovariateReference::Reference;
  fail("covariate_reference must be 'zero', 'mean' or 'reference', got '" + s + "'");
}

std::string to_string(RemoveCovariates r) {
  switch (r) {
    case RemoveCovariates::None: return "False";
    case RemoveCovariates::CatCovs: return "cat_covs";
    case RemoveCovariates::FeatureScaling: return "feature_scaling";
    case RemoveCovariates::All: return "all";
  }
  return "";
}

std::string to_string(CovariateReference r) {
  switch (r) {
    case CovariateReference::Zero: return "zero";
    case CovariateReference::Mean: return "mean";
    case CovariateReference::Reference: return "reference";
  }
  return "";
}

namespace {

void check_codes(const CategoricalCodes& c, const char* what) {
  const int64_t J = int64_t(c.n_cats.size());
  CUVI_CHECK(int64_t(c.codes.size()) == c.n_cells * J, std::string(what) + ": codes do not cover every cell");
  for (int64_t n = 0; n < c.n_cells; ++n)
    for (int64_t j = 0; j < J; ++j) {
      const int32_t v = c.codes[size_t(n * J + j)];
      CUVI_CHECK(v >= 0 && v < c.n_cats[size_t(j)], std::string(what) + ": cell " + std::to_string(n) + " key " +
                                                        std::to_string(j) + " has code " + std::to_string(v) +
                                                        " outside its " + std::to_string(c.n_cats[size_t(j)]) +
                                                        " categories");
    }
}

// Block j of one cell: the one-hot of `code`, or the replacement.
void fill_block(float* out, int64_t n_cat, int32_t code, bool remove, CovariateReference ref, int32_t ref_code) {
  std::fill(out, out + n_cat, 0.f);
  if (!remove) {
    out[code] = 1.f;
  } else if (ref == CovariateReference::Mean) {
    std::fill(out, out + n_cat, float(1.0 / double(n_cat)));
  } else if (ref == CovariateReference::Reference) {
    out[ref_code] = 1.f;
  }
}

void check_reference(const CategoricalCodes& c, bool remove, CovariateReference ref, const std::vector<int32_t>& rc,
                     const char* what) {
  if (!remove || ref != CovariateReference::Reference) return;
  CUVI_CHECK(rc.size() == c.n_cats.size(), std::string(what) + ": one reference category per key is needed");
  for (size_t j = 0; j < rc.size(); ++j)
    CUVI_CHECK(rc[j] >= 0 && rc[j] < c.n_cats[j], std::string(what) + ": reference category out of range");
}

// torch softplus (threshold 20) / 0.7.
float scaling_value(float gamma) {
  const double g = double(gamma);
  return float((g > 20.0 ? g : std::log1p(std::exp(g))) / 0.7);
}

}  // namespace

std::vector<int32_t> most_frequent_codes(const CategoricalCodes& c) {
  check_codes(c, "covariate reference");
  const int64_t J = int64_t(c.n_cats.size());
  std::vector<int32_t> out(size_t(J), 0);
  for (int64_t j = 0; j < J; ++j) {
    std::vector<int64_t> count(size_t(c.n_cats[size_t(j)]), 0);
    for (int64_t n = 0; n < c.n_cells; ++n) ++count[size_t(c.codes[size_t(n * J + j)])];
    out[size_t(j)] = int32_t(std::max_element(count.begin(), count.end()) - count.begin());  // first maximum
  }
  return out;
}

std::vector<float> decoder_covariate_input(const CategoricalCodes& nn, bool remove, CovariateReference ref,
                                           const std::vector<int32_t>& reference_codes) {
  check_codes(nn, "decoder covariates");
  check_reference(nn, remove, ref, reference_codes, "decoder covariates");
  const int64_t J = int64_t(nn.n_cats.size());
  int64_t Q = 0;
  for (int64_t c : nn.n_cats) Q += c > 1 ? c : 0;
  std::vector<float> out(size_t(nn.n_cells * Q));
  for (int64_t n = 0; n < nn.n_cells; ++n) {
    int64_t off = 0;
    for (int64_t j = 0; j < J; ++j) {
      const int64_t c = nn.n_cats[size_t(j)];
      if (c <= 1) continue;
      fill_block(&out[size_t(n * Q + off)], c, nn.codes[size_t(n * J + j)], remove, ref,
                 remove && ref == CovariateReference::Reference ? reference_codes[size_t(j)] : 0);
      off += c;
    }
  }
  return out;
}

bool feature_scaling_indicator(const CategoricalCodes& fs, bool remove, CovariateReference ref,
                               const std::vector<int32_t>& reference_codes, std::vector<float>* indicator,
                               int64_t* n_rows) {
  if (remove && ref == CovariateReference::Zero) return false;
  check_codes(fs, "feature-scaling covariates");
  check_reference(fs, remove, ref, reference_codes, "feature-scaling covariates");
  const int64_t J = int64_t(fs.n_cats.size());
  int64_t S = 0;
  for (int64_t c : fs.n_cats) S += c;
  if (S == 0) {  // no scaling keys: the single (1, F) row for every cell
    *n_rows = 1;
    indicator->assign(size_t(fs.n_cells), 1.f);
    return true;
  }
  *n_rows = S;
  indicator->assign(size_t(fs.n_cells * S), 0.f);
  for (int64_t n = 0; n < fs.n_cells; ++n) {
    int64_t off = 0;
    for (int64_t j = 0; j < J; ++j) {
      const int64_t c = fs.n_cats[size_t(j)];
      fill_block(&(*indicator)[size_t(n * S + off)], c, fs.codes[size_t(n * J + j)], remove, ref,
                 remove && ref == CovariateReference::Reference ? reference_codes[size_t(j)] : 0);
      off += c;
    }
  }
  return true;
}

std::vector<ModalityAttribution> modality_attribution(Backend& backend, const AttributionRequest& req,
                                                      int64_t chunk_cells) {
  const bool remove_cat = req.remove == RemoveCovariates::CatCovs || req.remove == RemoveCovariates::All;
  const bool remove_fs = req.remove == RemoveCovariates::FeatureScaling || req.remove == RemoveCovariates::All;
  CUVI_CHECK(req.log_library.size() == req.modalities.size(), "attribution: one library per modality is needed");
  CUVI_CHECK(req.nn_covariates.n_cells == req.n_cells || req.nn_covariates.n_cats.empty(),
             "attribution: decoder covariates and latent points cover different cells");
  CategoricalCodes nn = req.nn_covariates, fs = req.fs_covariates;
  nn.n_cells = fs.n_cells = req.n_cells;
  const std::vector<float> cov = decoder_covariate_input(nn, remove_cat, req.reference, req.nn_reference);
  std::vector<float> ind;
  int64_t S = 0;
  const bool scaled = feature_scaling_indicator(fs, remove_fs, req.reference, req.fs_reference, &ind, &S);
  int64_t total_latent = 0;
  for (const ModalityDecoder& m : req.modalities) total_latent += m.n_latent;

  std::vector<ModalityAttribution> out;
  for (size_t i = 0; i < req.modalities.size(); ++i) {
    const ModalityDecoder& m = req.modalities[i];
    CUVI_CHECK(m.decoder.n_latent == total_latent, "attribution: decoder of '" + m.name + "' takes " +
                                                       std::to_string(m.decoder.n_latent) + " latent inputs, z has " +
                                                       std::to_string(total_latent));
    CUVI_CHECK(m.decoder.n_cov * req.n_cells == int64_t(cov.size()),
               "attribution: decoder of '" + m.name + "' takes " + std::to_string(m.decoder.n_cov) +
                   " covariate columns, the covariate keys give " +
                   std::to_string(req.n_cells ? int64_t(cov.size()) / req.n_cells : 0));
    DecoderPoint<float> p;
    p.n_cells = req.n_cells;
    p.z = req.z;
    p.cont = req.cont;
    p.cov = m.decoder.n_cov ? cov.data() : nullptr;
    p.log_library = req.log_library[i];
    std::vector<float> table;
    if (m.feature_scaling && scaled) {
      CUVI_CHECK(m.feature_scaling_rows == S, "attribution: feature scaling of '" + m.name + "' has " +
                                                  std::to_string(m.feature_scaling_rows) + " rows, the keys give " +
                                                  std::to_string(S));
      table.resize(size_t(S * m.decoder.n_features));
      for (size_t e = 0; e < table.size(); ++e) table[e] = scaling_value(m.feature_scaling[e]);
      p.fs_indicator = ind.data();
      p.fs_table = table.data();
      p.n_fs_rows = S;
    }
    ModalityAttribution a;
    a.name = m.name;
    a.n_latent = m.n_latent;
    a.attribution.resize(size_t(req.n_cells * total_latent));
    decoder_attribution(backend, m.decoder, p, a.attribution.data(), chunk_cells);
    out.push_back(std::move(a));
  }
  return out;
}

void store_attribution_results(io::H5adWriter& w, const std::vector<ModalityAttribution>& attr, const float* z,
                               int64_t N, const std::string& suffix) {
  CUVI_CHECK(!attr.empty() && N > 0, "store attribution: nothing to store");
  // z's width: the concatenated slices, or (weighted_mean) one shared K; own slices past it are empty, as
  // regularizedvi's slicing.
  const int64_t K = int64_t(attr[0].attribution.size()) / N;
  std::vector<std::vector<double>> totals;
  int64_t offset = 0;
  for (const auto& a : attr) {
    CUVI_CHECK(int64_t(a.attribution.size()) == N * K, "store attribution: '" + a.name + "' does not cover the cells");
    std::vector<float> weighted(size_t(N * K));
    std::vector<double> total(size_t(N), 0.0), own(size_t(N), 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const float v = a.attribution[size_t(n * K + k)];
        weighted[size_t(n * K + k)] = z[n * K + k] * v;
        total[size_t(n)] += double(v);
        if (k >= offset && k < offset + a.n_latent) own[size_t(n)] += double(v);
      }
    w.add_obsm("X_latent_attr_" + a.name + suffix, weighted.data(), N, K);
    w.add_obs_column(io::Column::numbers(a.name + "_decoder_total_attr" + suffix, total));
    w.add_obs_column(io::Column::numbers(a.name + "_decoder_own_attr" + suffix, own));
    totals.push_back(std::move(total));
    offset += a.n_latent;
  }
  if (attr.size() == 2) {
    std::vector<double> ratio(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n)
      ratio[size_t(n)] = std::log2(totals[0][size_t(n)] / (totals[1][size_t(n)] + 1e-10));
    w.add_obs_column(io::Column::numbers("log2_" + attr[0].name + "_vs_" + attr[1].name + "_attr" + suffix, ratio));
  }
}

}  // namespace cuvi::workflow
