// The shared differential-analysis driver (scvi-multivi.md §3.1-§3.6): comparisons from de_groups,
// draws from the ScaleBank, statistics from de_stats, rows sorted per comparison and concatenated.
#include "tools/workflow/de_driver.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "tools/workflow/de_groups.h"

namespace cuvi::workflow {
namespace {

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

void check_options(const DeOptions& opt) {
  CUVI_CHECK(opt.mode == "vanilla" || opt.mode == "change", "--mode must be vanilla or change, got '" + opt.mode + "'");
  CUVI_CHECK(opt.test_mode == "three" || opt.test_mode == "two", "test mode must be three or two");
  CUVI_CHECK(!opt.groupby.empty(), "--groupby is required");
  CUVI_CHECK(opt.fdr_target > 0 && opt.fdr_target < 1, "--fdr-target must be in (0, 1)");
  CUVI_CHECK(!opt.delta || (std::isfinite(*opt.delta) && *opt.delta >= 0),
             "--delta must be a non-negative number or 'auto'");
  if (opt.pseudocounts) CUVI_CHECK(*opt.pseudocounts >= 0, "--pseudocounts must be non-negative");
}

// The model-based columns of one comparison (vanilla or change mode).
void add_scale_stats(ResultTable& t, const PairedScales& p, const DeOptions& opt, const CsrView& counts,
                     ColumnRange cols, const Side& s1, const Side& s2, DeComparison* info) {
  const int64_t F = p.G;
  std::vector<double> scale1, scale2;
  scale_moments(p.s1, F, &scale1, &info->scale1_sd);
  scale_moments(p.s2, F, &scale2, &info->scale2_sd);
  if (opt.mode == "vanilla") {
    const VanillaStats v = vanilla_stats(p);
    add_numbers(t, "proba_m1", ResultColumn::F64, v.proba_m1);
    add_numbers(t, "proba_m2", ResultColumn::F64, v.proba_m2);
    add_numbers(t, "bayes_factor", ResultColumn::F64, v.bayes_factor);
    add_numbers(t, "scale1", ResultColumn::F32, as_float32(scale1));
    add_numbers(t, "scale2", ResultColumn::F32, as_float32(scale2));
    return;
  }
  double pc = 0;
  bool pc_f32 = true;
  if (opt.pseudocounts) {
    pc = *opt.pseudocounts;
  } else {
    const auto za = low_mean_genes(counts, s1.cells, opt.threshold_counts, cols);
    const auto zb = low_mean_genes(counts, s2.cells, opt.threshold_counts, cols);
    pc = estimate_pseudocounts(p, za, zb, 0.9);
    pc_f32 = std::count(za.begin(), za.end(), true) + std::count(zb.begin(), zb.end(), true) > 0;
  }
  info->pseudocounts = pc;
  // scvi scales the pseudocount by 1e-3 for the LFC summaries (float32 product).
  const double lfc_pc = double(float(1e-3f * float(pc)));
  const ChangeStats ch = change_stats(p, pc, opt.delta, lfc_pc, opt.test_mode == "two");
  const ResultColumn::Kind lk = pc_f32 ? ResultColumn::F32 : ResultColumn::F64;
  add_numbers(t, "proba_de", ResultColumn::F64, ch.proba_de);
  add_numbers(t, "proba_not_de", ResultColumn::F64, ch.proba_not_de);
  add_numbers(t, "bayes_factor", ResultColumn::F64, ch.bayes_factor);
  add_numbers(t, "scale1", ResultColumn::F32, as_float32(scale1));
  add_numbers(t, "scale2", ResultColumn::F32, as_float32(scale2));
  add_numbers(t, "pseudocounts", lk, std::vector<double>(size_t(F), pc));
  // An estimated delta comes out of sklearn's float32 mixture means in scvi, a given one is a Python float.
  add_numbers(t, "delta", opt.delta ? ResultColumn::F64 : ResultColumn::F32,
              std::vector<double>(size_t(F), opt.delta ? ch.delta : double(float(ch.delta))));
  add_numbers(t, "lfc_mean", lk, ch.lfc_mean);
  add_numbers(t, "lfc_median", lk, ch.lfc_median);
  add_numbers(t, "lfc_std", lk, ch.lfc_std);
  add_numbers(t, "lfc_min", lk, ch.lfc_min);
  add_numbers(t, "lfc_max", lk, ch.lfc_max);
}

}  // namespace

std::vector<std::string> de_column_names(const std::string& mode, double fdr_target, bool with_groups,
                                         RawStatsKind stats) {
  std::vector<std::string> c;
  if (mode == "change")
    c = {"proba_de", "proba_not_de", "bayes_factor", "scale1", "scale2", "pseudocounts", "delta",
         "lfc_mean", "lfc_median", "lfc_std", "lfc_min", "lfc_max"};
  else
    c = {"proba_m1", "proba_m2", "bayes_factor", "scale1", "scale2"};
  if (stats == RawStatsKind::Expression)
    for (const char* s : {"raw_mean1", "raw_mean2", "non_zeros_proportion1", "non_zeros_proportion2",
                          "raw_normalized_mean1", "raw_normalized_mean2"})
      c.push_back(s);
  else
    for (const char* s : {"emp_mean1", "emp_mean2", "emp_effect"}) c.push_back(s);
  if (mode == "change") c.push_back("is_de_fdr_" + python_float_repr(fdr_target));
  if (with_groups)
    for (const char* s : {"comparison", "group1", "group2"}) c.push_back(s);
  return c;
}

DeResult run_differential(DeTask& task, const DeOptions& opt) {
  check_options(opt);
  CUVI_CHECK(task.model && task.data, "differential analysis without a model or data");
  const PreparedData& data = *task.data;
  const CsrView counts = data.counts();
  const int64_t F = task.cols.size(counts);
  CUVI_CHECK(F == task.model->n_features() && int64_t(task.features.size()) == F,
             "differential analysis: the model, the data and the feature names disagree on the number of features");
  DeResult res;
  const Grouping grp = read_grouping(data.data.obs, opt.groupby, data.data.path);
  const std::vector<Comparison> plan = plan_comparisons(grp, opt.group1, opt.group2, &res.notes);

  // Transform batches: the observed batch, or every batch category of the model.
  std::vector<int64_t> tbs{-1};
  if (opt.batch_correction) {
    tbs.clear();
    for (int64_t b = 0; b < task.n_batch; ++b) tbs.push_back(b);
  }

  // One draw per distinct group ("g<k>" or "rest<k>"), shared by the comparisons that use it.
  ScaleBank bank(F);
  std::map<std::string, Side> sides;
  uint32_t draw_id = 0;
  auto side = [&](const std::string& key, std::vector<int32_t> cells) -> const std::string& {
    auto it = sides.find(key);
    if (it == sides.end()) {
      CUVI_CHECK(!cells.empty(), "the rest of the cells is empty: every cell is in the compared group");
      Side s;
      s.slots = bank.draw(task.scheme, cells, tbs, opt.n_samples_overall, opt.seed, draw_id++);
      s.cells = std::move(cells);
      it = sides.emplace(key, std::move(s)).first;
    }
    return it->first;
  };
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const Comparison& c : plan) {
    const std::string k1 = side("g" + std::to_string(c.group1), grp.members[size_t(c.group1)]);
    const std::string k2 = c.group2 >= 0 ? side("g" + std::to_string(c.group2), grp.members[size_t(c.group2)])
                                         : side("rest" + std::to_string(c.group1), rest_of(grp, c.group1));
    pairs.emplace_back(k1, k2);
  }
  task.model->session().backend().ctx().seed = opt.seed;
  bank.evaluate(*task.model, opt.batch_size);
  res.n_scale_evaluations = bank.n_slots();

  const bool sparse = counts_stored_sparse(data.data);
  const std::vector<float> totals =
      task.stats == RawStatsKind::Expression ? float32_totals(counts, task.cols) : std::vector<float>();
  const std::string fdr_col = "is_de_fdr_" + python_float_repr(opt.fdr_target);
  for (size_t c = 0; c < plan.size(); ++c) {
    const Side& s1 = sides.at(pairs[c].first);
    const Side& s2 = sides.at(pairs[c].second);
    PairedScales p;
    p.G = F;
    for (int64_t slot : s1.slots) p.s1.push_back(bank.row(slot));
    for (int64_t slot : s2.slots) p.s2.push_back(bank.row(slot));
    DeComparison info;
    info.group1 = plan[c].name1;
    info.group2 = plan[c].name2;
    info.n_cells1 = int64_t(s1.cells.size());
    info.n_cells2 = int64_t(s2.cells.size());
    info.n_samples = p.n();

    ResultTable t;
    t.index = task.features;
    add_scale_stats(t, p, opt, counts, task.cols, s1, s2, &info);
    if (task.stats == RawStatsKind::Expression) {
      const RawStats r1 = raw_counts_properties(counts, s1.cells, totals, sparse, task.cols);
      const RawStats r2 = raw_counts_properties(counts, s2.cells, totals, sparse, task.cols);
      add_numbers(t, "raw_mean1", ResultColumn::F32, r1.raw_mean);
      add_numbers(t, "raw_mean2", ResultColumn::F32, r2.raw_mean);
      add_numbers(t, "non_zeros_proportion1", ResultColumn::F64, r1.non_zeros_proportion);
      add_numbers(t, "non_zeros_proportion2", ResultColumn::F64, r2.non_zeros_proportion);
      add_numbers(t, "raw_normalized_mean1", ResultColumn::F32, r1.raw_normalized_mean);
      add_numbers(t, "raw_normalized_mean2", ResultColumn::F32, r2.raw_normalized_mean);
    } else {
      const std::vector<double> e1 = fraction_positive(counts, s1.cells, task.cols);
      const std::vector<double> e2 = fraction_positive(counts, s2.cells, task.cols);
      std::vector<double> effect(e1.size());
      for (size_t j = 0; j < e1.size(); ++j) effect[j] = e1[j] - e2[j];
      add_numbers(t, "emp_mean1", ResultColumn::F64, e1);
      add_numbers(t, "emp_mean2", ResultColumn::F64, e2);
      add_numbers(t, "emp_effect", ResultColumn::F64, effect);
    }

    // Rows by proba_de (change) or bayes_factor (vanilla), descending, NaN last, ties in feature order.
    const std::vector<double>& key = t.at(opt.mode == "change" ? "proba_de" : "bayes_factor").num;
    std::vector<int64_t> order(static_cast<size_t>(F));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const double x = key[size_t(a)], y = key[size_t(b)];
      if (std::isnan(y)) return !std::isnan(x);
      return x > y;
    });
    ResultTable sorted = t.take(order);
    if (opt.mode == "change") {
      const std::vector<bool> de = fdr_de_prediction(sorted.at("proba_de").num, opt.fdr_target);
      ResultColumn& col = sorted.add(fdr_col, ResultColumn::Bool);
      for (bool b : de) col.num.push_back(b ? 1.0 : 0.0);
    }
    sorted.add("comparison", ResultColumn::Text).text.assign(size_t(F), info.group1 + " vs " + info.group2);
    sorted.add("group1", ResultColumn::Text).text.assign(size_t(F), info.group1);
    sorted.add("group2", ResultColumn::Text).text.assign(size_t(F), info.group2);
    res.table.append(sorted);
    res.comparisons.push_back(std::move(info));
  }
  return res;
}

ResultTable accessibility_table(const DeResult& r, const DeOptions& opt, const std::vector<std::string>& regions) {
  CUVI_CHECK(r.comparisons.size() == 1,
             "differential accessibility takes one comparison (scvi-tools indexes its table by region); give one "
             "--group1");
  const ResultTable& t = r.table;
  const int64_t R = int64_t(regions.size());
  CUVI_CHECK(t.n_rows() == R, "differential accessibility: the table and the regions disagree");
  // Back to region order: the driver sorted the rows by probability.
  std::map<std::string, int64_t> pos;
  for (int64_t i = 0; i < R; ++i) pos[t.index[size_t(i)]] = i;
  std::vector<int64_t> order(static_cast<size_t>(R));
  for (int64_t j = 0; j < R; ++j) {
    auto it = pos.find(regions[size_t(j)]);
    CUVI_CHECK(it != pos.end(), "differential accessibility: region '" + regions[size_t(j)] + "' is missing");
    order[size_t(j)] = it->second;
  }
  const ResultTable s = t.take(order);
  const bool change = opt.mode == "change";
  ResultTable out;
  out.index = regions;
  out.add("prob_da", ResultColumn::F64).num = s.at(change ? "proba_de" : "proba_m1").num;
  if (change) {
    out.add("is_da_fdr", ResultColumn::Bool).num = s.at("is_de_fdr_" + python_float_repr(opt.fdr_target)).num;
  } else {
    out.add("is_da_fdr", ResultColumn::Text).text.assign(size_t(R), "");  // scvi-tools: None
  }
  out.add("bayes_factor", ResultColumn::F64).num = s.at("bayes_factor").num;
  const std::vector<double>& s1 = s.at("scale1").num;
  const std::vector<double>& s2 = s.at("scale2").num;
  const std::vector<double>& e1 = s.at("emp_mean1").num;
  const std::vector<double>& e2 = s.at("emp_mean2").num;
  std::vector<double> effect(static_cast<size_t>(R)), emp_effect(static_cast<size_t>(R));
  for (int64_t j = 0; j < R; ++j) {
    effect[size_t(j)] = double(float(s2[size_t(j)]) - float(s1[size_t(j)]));  // float32 Series
    emp_effect[size_t(j)] = e2[size_t(j)] - e1[size_t(j)];
  }
  out.add("effect_size", ResultColumn::F32).num = effect;
  out.add("emp_effect", ResultColumn::F64).num = emp_effect;
  out.add("est_prob1", ResultColumn::F32).num = s1;
  out.add("est_prob2", ResultColumn::F32).num = s2;
  out.add("emp_prob1", ResultColumn::F64).num = e1;
  out.add("emp_prob2", ResultColumn::F64).num = e2;
  return out;
}

}  // namespace cuvi::workflow
