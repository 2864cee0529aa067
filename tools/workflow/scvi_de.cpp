// The DE driver (scvi-multivi.md §3.1): groups and comparisons, one ScaleBank draw per distinct
// group shared by all comparisons, statistics per comparison, tables sorted and concatenated.
#include "tools/workflow/scvi_de.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "tools/workflow/scvi_de_sampler.h"
#include "tools/workflow/scvi_de_stats.h"

namespace cuvi::workflow {
namespace {

// Category labels of an obs column in pandas' astype("category") order, and per-cell codes (-1 =
// missing: such cells belong to no group but are part of every "rest").
struct Grouping {
  std::vector<std::string> categories;
  std::vector<int32_t> codes;
};

Grouping read_grouping(const io::DataFrame& obs, const std::string& key, const std::string& path) {
  const io::Column& c = obs.require(key, path, "obs");
  Grouping g;
  const int64_t n = c.size();
  g.codes.assign(size_t(n), -1);
  if (c.kind == io::ColumnKind::Categorical) {
    g.categories = c.cat.categories;
    g.codes = c.cat.codes;
    return g;
  }
  if (c.kind == io::ColumnKind::String) {
    std::vector<std::string> v;
    for (const auto& s : c.strings)
      if (!s.empty()) v.push_back(s);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    g.categories = v;
    for (int64_t i = 0; i < n; ++i)
      if (!c.strings[size_t(i)].empty())
        g.codes[size_t(i)] = int32_t(std::lower_bound(v.begin(), v.end(), c.strings[size_t(i)]) - v.begin());
    return g;
  }
  std::vector<double> v;
  for (double x : c.numeric)
    if (!std::isnan(x)) v.push_back(x);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  for (double x : v)
    g.categories.push_back(c.kind == io::ColumnKind::Boolean ? (x != 0 ? "True" : "False")
                                                              : io::Column::numbers("", {x}, c.is_integer).text(0));
  for (int64_t i = 0; i < n; ++i)
    if (!std::isnan(c.numeric[size_t(i)]))
      g.codes[size_t(i)] = int32_t(std::lower_bound(v.begin(), v.end(), c.numeric[size_t(i)]) - v.begin());
  return g;
}

std::string list_categories(const std::vector<std::string>& cats) {
  std::string s;
  for (size_t i = 0; i < cats.size() && i < 30; ++i) s += (i ? ", " : "") + cats[i];
  if (cats.size() > 30) s += ", ... (" + std::to_string(cats.size()) + " in all)";
  return s;
}

// True when the counts were stored sparse (scipy arithmetic in scvi): every AnnData matrix but a dense one.
bool counts_stored_sparse(const io::Dataset& d) {
  return d.format != io::FileFormat::AnnData || d.storage != "dense";
}

// One side of a comparison: its cells and the slots of its scale draw.
struct Side {
  std::vector<int32_t> cells;
  std::vector<int64_t> slots;
};

void add_numbers(ResultTable& t, const std::string& name, ResultColumn::Kind kind, const std::vector<double>& v) {
  t.add(name, kind).num = v;
}

std::vector<double> as_float32(const std::vector<double>& v) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = double(float(v[i]));
  return out;
}

}  // namespace

std::vector<std::string> de_column_names(const std::string& mode, double fdr_target, bool with_groups) {
  std::vector<std::string> c;
  if (mode == "change")
    c = {"proba_de", "proba_not_de", "bayes_factor", "scale1", "scale2", "pseudocounts", "delta",
         "lfc_mean", "lfc_median", "lfc_std", "lfc_min", "lfc_max"};
  else
    c = {"proba_m1", "proba_m2", "bayes_factor", "scale1", "scale2"};
  for (const char* s : {"raw_mean1", "raw_mean2", "non_zeros_proportion1", "non_zeros_proportion2",
                        "raw_normalized_mean1", "raw_normalized_mean2"})
    c.push_back(s);
  if (mode == "change") c.push_back("is_de_fdr_" + python_float_repr(fdr_target));
  if (with_groups)
    for (const char* s : {"comparison", "group1", "group2"}) c.push_back(s);
  return c;
}

DeResult differential_expression(ScviInference& inf, const DeOptions& opt) {
  CUVI_CHECK(opt.mode == "vanilla" || opt.mode == "change", "--mode must be vanilla or change, got '" + opt.mode + "'");
  CUVI_CHECK(opt.test_mode == "three" || opt.test_mode == "two", "test mode must be three or two");
  CUVI_CHECK(!opt.groupby.empty(), "--groupby is required");
  CUVI_CHECK(opt.fdr_target > 0 && opt.fdr_target < 1, "--fdr-target must be in (0, 1)");
  CUVI_CHECK(!opt.delta || (std::isfinite(*opt.delta) && *opt.delta >= 0),
             "--delta must be a non-negative number or 'auto'");
  if (opt.pseudocounts) CUVI_CHECK(*opt.pseudocounts >= 0, "--pseudocounts must be non-negative");
  const PreparedData& data = inf.data;
  const CsrView counts = data.counts();
  const int64_t R = counts.n_rows, G = counts.n_cols;
  const Grouping grp = read_grouping(data.data.obs, opt.groupby, data.data.path);
  std::vector<std::vector<int32_t>> members(grp.categories.size());
  for (int64_t i = 0; i < R; ++i)
    if (grp.codes[size_t(i)] >= 0) members[size_t(grp.codes[size_t(i)])].push_back(int32_t(i));
  auto code_of = [&](const std::string& name, const char* option) {
    for (size_t k = 0; k < grp.categories.size(); ++k)
      if (grp.categories[k] == name) {
        CUVI_CHECK(!members[k].empty(), std::string(option) + " '" + name + "' has no cells in obs['" + opt.groupby + "']");
        return int32_t(k);
      }
    fail(std::string(option) + " '" + name + "' is not a category of obs['" + opt.groupby +
         "'] (categories: " + list_categories(grp.categories) + ")");
  };

  DeResult res;
  int32_t g2 = -1;
  if (!opt.group2.empty()) g2 = code_of(opt.group2, "--group2");
  std::vector<int32_t> g1s;
  if (opt.group1.empty()) {
    int n_present = 0;
    for (size_t k = 0; k < grp.categories.size(); ++k) n_present += !members[k].empty();
    CUVI_CHECK(n_present >= 2, "obs['" + opt.groupby + "'] has a single group (" + list_categories(grp.categories) +
                                   "); DE needs at least two");
    for (size_t k = 0; k < grp.categories.size(); ++k) {
      if (members[k].empty()) {
        res.notes.push_back("category '" + grp.categories[k] + "' has no cells and is skipped");
        continue;
      }
      if (int32_t(k) != g2) g1s.push_back(int32_t(k));
    }
  } else {
    for (const auto& name : opt.group1) {
      const int32_t c = code_of(name, "--group1");
      CUVI_CHECK(c != g2, "--group1 and --group2 are both '" + name + "'; DE needs two different groups");
      g1s.push_back(c);
    }
  }

  // Transform batches: the observed batch, or every batch category of the model.
  std::vector<int64_t> tbs{-1};
  if (opt.batch_correction) {
    tbs.clear();
    for (int64_t b = 0; b < inf.model->config().n_batch; ++b) tbs.push_back(b);
  }

  // One draw per distinct group ("g<k>" or "rest<k>"), shared by the comparisons that use it.
  ScaleBank bank(G);
  std::map<std::string, Side> sides;
  uint32_t draw_id = 0;
  auto side = [&](const std::string& key, std::vector<int32_t> cells) -> const std::string& {
    auto it = sides.find(key);
    if (it == sides.end()) {
      CUVI_CHECK(!cells.empty(), "the rest of the cells is empty: every cell is in the compared group");
      Side s;
      s.slots = bank.draw(cells, tbs, opt.n_samples_overall, opt.seed, draw_id++);
      s.cells = std::move(cells);
      it = sides.emplace(key, std::move(s)).first;
    }
    return it->first;
  };
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int32_t a : g1s) {
    const std::string k1 = side("g" + std::to_string(a), members[size_t(a)]);
    std::string k2;
    if (g2 >= 0) {
      k2 = side("g" + std::to_string(g2), members[size_t(g2)]);
    } else {
      std::vector<int32_t> rest;
      for (int64_t i = 0; i < R; ++i)
        if (grp.codes[size_t(i)] != a) rest.push_back(int32_t(i));
      k2 = side("rest" + std::to_string(a), std::move(rest));
    }
    pairs.emplace_back(k1, k2);
  }
  inf.session->backend().ctx().seed = opt.seed;
  bank.evaluate(*inf.session, opt.batch_size);
  res.n_scale_evaluations = bank.n_slots();

  const bool sparse = counts_stored_sparse(data.data);
  const std::vector<float> totals = float32_totals(counts);
  const std::vector<std::string> fixed = de_column_names(opt.mode, opt.fdr_target, false);
  for (size_t c = 0; c < g1s.size(); ++c) {
    const Side& s1 = sides.at(pairs[c].first);
    const Side& s2 = sides.at(pairs[c].second);
    PairedScales p;
    p.G = G;
    for (int64_t slot : s1.slots) p.s1.push_back(bank.row(slot));
    for (int64_t slot : s2.slots) p.s2.push_back(bank.row(slot));
    DeComparison info;
    info.group1 = grp.categories[size_t(g1s[c])];
    info.group2 = g2 >= 0 ? grp.categories[size_t(g2)] : "Rest";
    info.n_cells1 = int64_t(s1.cells.size());
    info.n_cells2 = int64_t(s2.cells.size());
    info.n_samples = p.n();
    std::vector<double> scale1, scale2;
    scale_moments(p.s1, G, &scale1, &info.scale1_sd);
    scale_moments(p.s2, G, &scale2, &info.scale2_sd);

    ResultTable t;
    t.index = data.registry.genes;
    if (opt.mode == "vanilla") {
      const VanillaStats v = vanilla_stats(p);
      add_numbers(t, "proba_m1", ResultColumn::F64, v.proba_m1);
      add_numbers(t, "proba_m2", ResultColumn::F64, v.proba_m2);
      add_numbers(t, "bayes_factor", ResultColumn::F64, v.bayes_factor);
      add_numbers(t, "scale1", ResultColumn::F32, as_float32(scale1));
      add_numbers(t, "scale2", ResultColumn::F32, as_float32(scale2));
    } else {
      double pc = 0;
      bool pc_f32 = true;
      if (opt.pseudocounts) {
        pc = *opt.pseudocounts;
      } else {
        const auto za = low_mean_genes(counts, s1.cells, opt.threshold_counts);
        const auto zb = low_mean_genes(counts, s2.cells, opt.threshold_counts);
        pc = estimate_pseudocounts(p, za, zb, 0.9);
        pc_f32 = std::count(za.begin(), za.end(), true) + std::count(zb.begin(), zb.end(), true) > 0;
      }
      info.pseudocounts = pc;
      // scvi scales the pseudocount by 1e-3 for the LFC summaries (float32 product).
      const double lfc_pc = double(float(1e-3f * float(pc)));
      const ChangeStats ch = change_stats(p, pc, opt.delta, lfc_pc, opt.test_mode == "two");
      const ResultColumn::Kind lk = pc_f32 ? ResultColumn::F32 : ResultColumn::F64;
      add_numbers(t, "proba_de", ResultColumn::F64, ch.proba_de);
      add_numbers(t, "proba_not_de", ResultColumn::F64, ch.proba_not_de);
      add_numbers(t, "bayes_factor", ResultColumn::F64, ch.bayes_factor);
      add_numbers(t, "scale1", ResultColumn::F32, as_float32(scale1));
      add_numbers(t, "scale2", ResultColumn::F32, as_float32(scale2));
      add_numbers(t, "pseudocounts", lk, std::vector<double>(size_t(G), pc));
      // An estimated delta comes out of sklearn's float32 mixture means in scvi, a given one is a Python float.
      add_numbers(t, "delta", opt.delta ? ResultColumn::F64 : ResultColumn::F32,
                  std::vector<double>(size_t(G), opt.delta ? ch.delta : double(float(ch.delta))));
      add_numbers(t, "lfc_mean", lk, ch.lfc_mean);
      add_numbers(t, "lfc_median", lk, ch.lfc_median);
      add_numbers(t, "lfc_std", lk, ch.lfc_std);
      add_numbers(t, "lfc_min", lk, ch.lfc_min);
      add_numbers(t, "lfc_max", lk, ch.lfc_max);
    }
    const RawStats r1 = raw_counts_properties(counts, s1.cells, totals, sparse);
    const RawStats r2 = raw_counts_properties(counts, s2.cells, totals, sparse);
    add_numbers(t, "raw_mean1", ResultColumn::F32, r1.raw_mean);
    add_numbers(t, "raw_mean2", ResultColumn::F32, r2.raw_mean);
    add_numbers(t, "non_zeros_proportion1", ResultColumn::F64, r1.non_zeros_proportion);
    add_numbers(t, "non_zeros_proportion2", ResultColumn::F64, r2.non_zeros_proportion);
    add_numbers(t, "raw_normalized_mean1", ResultColumn::F32, r1.raw_normalized_mean);
    add_numbers(t, "raw_normalized_mean2", ResultColumn::F32, r2.raw_normalized_mean);

    // Rows by proba_de (change) or bayes_factor (vanilla), descending, NaN last, ties in gene order.
    const std::vector<double>& key = t.at(opt.mode == "change" ? "proba_de" : "bayes_factor").num;
    std::vector<int64_t> order(static_cast<size_t>(G));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const double x = key[size_t(a)], y = key[size_t(b)];
      if (std::isnan(y)) return !std::isnan(x);
      return x > y;
    });
    ResultTable sorted = t.take(order);
    if (opt.mode == "change") {
      const std::vector<bool> de = fdr_de_prediction(sorted.at("proba_de").num, opt.fdr_target);
      ResultColumn& col = sorted.add(fixed.back(), ResultColumn::Bool);
      for (bool b : de) col.num.push_back(b ? 1.0 : 0.0);
    }
    sorted.add("comparison", ResultColumn::Text).text.assign(size_t(G), info.group1 + " vs " + info.group2);
    sorted.add("group1", ResultColumn::Text).text.assign(size_t(G), info.group1);
    sorted.add("group2", ResultColumn::Text).text.assign(size_t(G), info.group2);
    res.table.append(sorted);
    res.comparisons.push_back(std::move(info));
  }
  return res;
}

}  // namespace cuvi::workflow
