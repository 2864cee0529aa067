// Registration of obs columns into category codes (pandas category order: existing categorical order,
// else sorted values), continuous covariates, count totals, and mapping onto a model's registry.
#include "tools/workflow/setup.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/error.h"

namespace cuvi::workflow {
// Category labels and codes of an obs column; numbers and strings are sorted like pandas does.
void column_categories(const io::Column& c, const std::string& file, std::vector<std::string>* cats,
                       std::vector<int32_t>* codes) {
  const int64_t n = c.size();
  codes->assign(n, -1);
  if (c.kind == io::ColumnKind::Categorical) {
    *cats = c.cat.categories;
    *codes = c.cat.codes;
  } else if (c.kind == io::ColumnKind::Numeric || c.kind == io::ColumnKind::Boolean) {
    std::vector<double> vals;
    for (double v : c.numeric)
      if (!std::isnan(v)) vals.push_back(v);
    std::sort(vals.begin(), vals.end());
    vals.erase(std::unique(vals.begin(), vals.end()), vals.end());
    cats->clear();
    for (double v : vals) cats->push_back(c.kind == io::ColumnKind::Boolean ? (v != 0 ? "True" : "False")
                                                                             : io::Column::numbers("", {v}, c.is_integer).text(0));
    for (int64_t i = 0; i < n; ++i)
      if (!std::isnan(c.numeric[i]))
        (*codes)[i] = int32_t(std::lower_bound(vals.begin(), vals.end(), c.numeric[i]) - vals.begin());
  } else {
    std::vector<std::string> vals;
    for (const auto& s : c.strings)
      if (!s.empty()) vals.push_back(s);
    std::sort(vals.begin(), vals.end());
    vals.erase(std::unique(vals.begin(), vals.end()), vals.end());
    *cats = vals;
    for (int64_t i = 0; i < n; ++i)
      if (!c.strings[i].empty())
        (*codes)[i] = int32_t(std::lower_bound(vals.begin(), vals.end(), c.strings[i]) - vals.begin());
  }
  for (int64_t i = 0; i < n; ++i)
    if ((*codes)[i] < 0)
      fail(file + ": obs column '" + c.name + "' has a missing value (cell " + std::to_string(i) +
           "); fill or drop those cells before training");
}

namespace {

// Codes of `file_cats` remapped onto `model_cats` by name; unknown categories are errors.
void map_onto(const std::string& file, const std::string& key, const std::vector<std::string>& file_cats,
              const std::vector<std::string>& model_cats, std::vector<int32_t>* codes) {
  std::map<std::string, int32_t> pos;
  for (size_t i = 0; i < model_cats.size(); ++i) pos[model_cats[i]] = int32_t(i);
  std::vector<int32_t> remap(file_cats.size(), -1);
  for (size_t i = 0; i < file_cats.size(); ++i) {
    auto it = pos.find(file_cats[i]);
    if (it != pos.end()) remap[i] = it->second;
  }
  for (int32_t& c : *codes) {
    if (remap[c] < 0)
      fail(file + ": obs column '" + key + "' has category '" + file_cats[c] +
           "', which the model was not trained with (known: " + std::to_string(model_cats.size()) + " categories)");
    c = remap[c];
  }
}

}  // namespace

PreparedData prepare_data(const std::string& path, const SetupKeys& keys, const DataRegistry* model,
                          bool strict_counts) {
  io::LoadOptions lo;
  lo.allow_fractional_counts = !strict_counts;
  lo.layer = keys.layer;
  lo.modality = keys.modality;
  lo.genome = keys.genome;
  lo.feature_type = keys.feature_type;
  return register_dataset(io::load_dataset(path, lo), keys, model);
}

PreparedData register_dataset(io::Dataset data, const SetupKeys& keys, const DataRegistry* model,
                              const CsrView* borrowed) {
  PreparedData p;
  p.data = std::move(data);
  if (borrowed) p.borrowed = *borrowed;
  const io::Dataset& d = p.data;
  const std::string& path = d.path;
  const CsrView counts = p.counts();
  const int64_t R = counts.n_rows;
  CUVI_CHECK(R > 0, path + ": the count matrix has no cells");
  p.registry.keys = keys;
  p.registry.genes = d.var.index;
  // A multiome model's genes and regions are checked by prepare_multiome before (var holds both here).
  if (model && model->regions.empty()) io::check_same_genes(model->genes, d.var.index, path);

  auto categorical = [&](const std::string& key, std::vector<std::string>* cats, std::vector<int32_t>* codes,
                         const std::vector<std::string>* model_cats) {
    if (key.empty()) {
      *cats = {"0"};
      codes->assign(R, 0);
      return;
    }
    const io::Column& c = d.obs.require(key, path, "obs");
    column_categories(c, path, cats, codes);
    if (model_cats) {
      map_onto(path, key, *cats, *model_cats, codes);
      *cats = *model_cats;
    }
  };
  if (!keys.sample_key.empty()) {
    categorical(keys.sample_key, &p.registry.sample_categories, &p.sample,
                model ? &model->sample_categories : nullptr);
    if (!model)
      CUVI_CHECK(!p.registry.sample_categories.empty(), path + ": obs column '" + keys.sample_key + "' has no values");
  }
  categorical(keys.batch_key, &p.registry.batch_categories, &p.cells.batch, model ? &model->batch_categories : nullptr);
  categorical(keys.labels_key, &p.registry.label_categories, &p.cells.labels,
              model ? &model->label_categories : nullptr);
  const size_t n_cat = keys.categorical_covariate_keys.size();
  p.registry.covariate_categories.resize(n_cat);
  p.cat_covs.assign(R * n_cat, 0);
  for (size_t k = 0; k < n_cat; ++k) {
    std::vector<int32_t> codes;
    categorical(keys.categorical_covariate_keys[k], &p.registry.covariate_categories[k], &codes,
                model ? &model->covariate_categories.at(k) : nullptr);
    for (int64_t i = 0; i < R; ++i) p.cat_covs[i * n_cat + k] = codes[i];
  }
  const size_t n_cont = keys.continuous_covariate_keys.size();
  p.cells.n_cont = int64_t(n_cont);
  p.cells.cont.assign(R * n_cont, 0.f);
  for (size_t k = 0; k < n_cont; ++k) {
    const std::string& key = keys.continuous_covariate_keys[k];
    const io::Column& c = d.obs.require(key, path, "obs");
    CUVI_CHECK(c.kind == io::ColumnKind::Numeric || c.kind == io::ColumnKind::Boolean,
               path + ": obs column '" + key + "' is not numeric and cannot be a continuous covariate");
    for (int64_t i = 0; i < R; ++i) {
      const double v = c.numeric[i];
      CUVI_CHECK(std::isfinite(v), path + ": obs column '" + key + "' has a missing or infinite value (cell " +
                                       std::to_string(i) + ")");
      p.cells.cont[i * n_cont + k] = float(v);
    }
  }
  p.totals.assign(R, 0.0);
  for (int64_t i = 0; i < R; ++i)
    for (int64_t k = counts.indptr[i]; k < counts.indptr[i + 1]; ++k) p.totals[i] += counts.data[k];
  return p;
}

void encode_sample_codes(PreparedData& p) {
  CUVI_CHECK(!p.sample.empty(), "no sample key is registered (--sample-key)");
  p.cells.n_codes = 1;
  p.cells.codes = p.sample;
}

std::vector<int64_t> cells_per_sample(const PreparedData& p) {
  std::vector<int64_t> n(p.registry.sample_categories.size(), 0);
  for (int32_t s : p.sample) ++n[size_t(s)];
  return n;
}

void encode_codes(PreparedData& p, const models::CovariateLayout& layout) {
  const int64_t R = int64_t(p.cells.batch.size());
  const size_t n_cat = p.registry.keys.categorical_covariate_keys.size();
  CUVI_CHECK(layout.sizes.size() == n_cat + 1, "covariate layout does not match the registered keys");
  p.cells.n_codes = layout.n_codes;
  p.cells.codes.assign(R * layout.n_codes, 0);
  for (int64_t i = 0; i < R; ++i)
    layout.encode(p.cells.batch[i], p.cat_covs.data() + i * n_cat, p.cells.codes.data() + i * layout.n_codes);
}

}  // namespace cuvi::workflow
