// Local sample distances: counterfactual representations per minibatch, per-cell distance matrices on
// the host (double accumulation), per-group running sums in double, streamed netCDF output.
#include "tools/workflow/mrvi_distances.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tools/workflow/mrvi_counterfactual.h"

namespace cuvi::workflow {
namespace {

constexpr int64_t kDistanceSteps = int64_t(0xB0000000u);  // Philox steps of the distance passes

// A groupby key: per-cell group index, categories in pandas value_counts() order (descending count,
// ties in category order; empty categories are left out) and their cell counts.
struct Grouping {
  std::string key;
  std::vector<std::string> names;
  std::vector<int64_t> counts;
  std::vector<int32_t> group;  // (N) index into names
  bool integer = false;        // an integer obs column: its names are written as int64 coordinates
};

Grouping grouping_of(const PreparedData& data, const std::string& key) {
  Grouping g;
  g.key = key;
  std::vector<std::string> cats;
  std::vector<int32_t> codes;
  const io::Column& col = data.data.obs.require(key, data.data.path, "obs");
  column_categories(col, data.data.path, &cats, &codes);
  g.integer = col.kind == io::ColumnKind::Numeric && col.is_integer;
  std::vector<int64_t> n(cats.size(), 0);
  for (int32_t c : codes) ++n[size_t(c)];
  std::vector<int32_t> order(cats.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return n[size_t(a)] > n[size_t(b)]; });
  std::vector<int32_t> pos(cats.size(), -1);
  for (int32_t k : order)
    if (n[size_t(k)] > 0) {
      pos[size_t(k)] = int32_t(g.names.size());
      g.names.push_back(cats[size_t(k)]);
      g.counts.push_back(n[size_t(k)]);
    }
  for (int32_t c : codes) g.group.push_back(pos[size_t(c)]);
  return g;
}

// Unbiased variance (torch.var) and mean of v.
void mean_var(const std::vector<double>& v, double* mean, double* var) {
  const double n = double(v.size());
  double m = 0;
  for (double x : v) m += x;
  m /= n;
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  *mean = m;
  *var = n > 1 ? s / (n - 1) : NAN;
}

}  // namespace

void sample_distance_matrix(const float* z, int64_t S, int64_t L, const std::string& norm, float* d) {
  const int kind = norm == "l2" ? 0 : norm == "l1" ? 1 : 2;
  for (int64_t i = 0; i < S; ++i) {
    d[i * S + i] = 0.f;
    for (int64_t j = i + 1; j < S; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < L; ++k) {
        const double t = double(z[i * L + k]) - double(z[j * L + k]);
        if (kind == 0)
          acc += t * t;
        else if (kind == 1)
          acc += std::fabs(t);
        else
          acc = std::max(acc, std::fabs(t));
      }
      const float v = float(kind == 0 ? std::sqrt(acc) : acc);
      d[i * S + j] = v;
      d[j * S + i] = v;
    }
  }
}

double cell_distance_bytes(int64_t n_cells, int64_t n_samples, const DistanceOptions& opt) {
  const double draws = (opt.use_mean || opt.normalize) ? 1.0 : double(opt.mc_samples);
  return double(n_cells) * draws * double(n_samples) * double(n_samples) * 4.0;
}

std::vector<GroupDistances> local_sample_distances(MrviSession& session, const PreparedData& data,
                                                   const DistanceOptions& opt, io::NetcdfWriter& out) {
  CUVI_CHECK(opt.norm == "l2" || opt.norm == "l1" || opt.norm == "linf",
             "--norm '" + opt.norm + "' is not one of: l2, l1, linf");
  CUVI_CHECK(!opt.normalize || opt.norm == "l2", "normalized distances need --norm l2 (got " + opt.norm + ")");
  CUVI_CHECK(opt.keep_cell || !opt.groupby.empty(),
             "nothing to compute: without --keep-cell give at least one --groupby key");
  CUVI_CHECK(opt.mc_samples >= (opt.normalize ? 2 : 1), "--mc-samples must be at least 2 for normalized distances");
  const models::MrviConfig& c = session.model().config();
  const int64_t S = c.n_sample, L = c.n_latent, S2 = S * S;
  const bool sampled = !opt.use_mean || opt.normalize;
  const int64_t M = sampled ? opt.mc_samples : 1;
  const bool mc_dim = sampled && !opt.normalize;  // sampled distances keep a draw axis
  const int64_t per_cell = (mc_dim ? M : 1) * S2;

  std::vector<Grouping> groups;
  for (const std::string& key : opt.groupby) {
    CUVI_CHECK(std::count(opt.groupby.begin(), opt.groupby.end(), key) == 1, "--groupby '" + key + "' is given twice");
    CUVI_CHECK(key != "cell", "--groupby 'cell' would clash with the per-cell variable");
    groups.push_back(grouping_of(data, key));
  }
  out.coordinate("cell_name", data.data.obs.index);
  out.coordinate("sample_x", data.registry.sample_categories);
  out.coordinate("sample_y", data.registry.sample_categories);
  std::vector<std::string> tail = {"sample_x", "sample_y"};
  if (mc_dim) {
    std::vector<int64_t> m(static_cast<size_t>(M));
    std::iota(m.begin(), m.end(), int64_t(0));
    out.coordinate("mc_sample", m);
    tail.insert(tail.begin(), "mc_sample");
  }
  if (opt.keep_cell) {
    std::vector<std::string> dims = {"cell_name"};
    dims.insert(dims.end(), tail.begin(), tail.end());
    out.variable("cell", dims, io::NcType::F32);
  }
  std::vector<std::vector<double>> sums(groups.size());
  for (size_t k = 0; k < groups.size(); ++k) {
    const Grouping& g = groups[k];
    if (g.integer) {
      std::vector<int64_t> v;
      for (const std::string& n : g.names) v.push_back(std::stoll(n));
      out.coordinate(g.key + "_name", v);
    } else {
      out.coordinate(g.key + "_name", g.names);
    }
    std::vector<std::string> dims = {g.key + "_name"};
    dims.insert(dims.end(), tail.begin(), tail.end());
    out.variable(g.key, dims, io::NcType::F32);
    sums[k].assign(g.names.size() * size_t(per_cell), 0.0);
  }

  CounterfactualOptions co;
  co.use_mean = !sampled;
  co.mc_samples = M;
  co.max_rows = opt.max_rows;
  session.backend().ctx().seed = opt.seed;
  int64_t step = kDistanceSteps;
  std::vector<float> z, zb, block;
  session.for_each_batch(0, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    const int64_t B = mb.n;
    step = counterfactual_latents(session, tape, mb, co, step, &z);  // (M, B, S, L)
    std::vector<double> base_mean(size_t(B), 0.0), base_sd(size_t(B), 1.0);
    if (opt.normalize) {
      // Baseline: 2M draws of z for the cell's own sample, draw m paired with draw m + M (§5).
      CounterfactualOptions bo = co;
      bo.own_sample = true;
      bo.mc_samples = 2 * M;
      step = counterfactual_latents(session, tape, mb, bo, step, &zb);  // (2M, B, 1, L)
      std::vector<double> d(static_cast<size_t>(M));
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t m = 0; m < M; ++m) {
          double acc = 0;
          for (int64_t k = 0; k < L; ++k) {
            const double t = double(zb[size_t((m * B + b) * L + k)]) - double(zb[size_t(((m + M) * B + b) * L + k)]);
            acc += t * t;
          }
          d[size_t(m)] = std::sqrt(acc);
        }
        double var = 0;
        mean_var(d, &base_mean[size_t(b)], &var);
        base_sd[size_t(b)] = std::sqrt(var);
      }
    }
    block.assign(size_t(B * per_cell), 0.f);
#pragma omp parallel
    {
      std::vector<float> zc(static_cast<size_t>(S * L)), dm(static_cast<size_t>(S2));
#pragma omp for schedule(static)
      for (int64_t b = 0; b < B; ++b) {
        float* dst = block.data() + b * per_cell;
        for (int64_t m = 0; m < M; ++m) {
          for (int64_t s = 0; s < S; ++s)
            std::copy_n(z.data() + ((m * B + b) * S + s) * L, L, zc.data() + s * L);
          sample_distance_matrix(zc.data(), S, L, opt.norm, dm.data());
          if (opt.normalize) {
            // mean over draws of (d - mu_n) / sigma_n, accumulated in the float block as torch does.
            for (int64_t e = 0; e < S2; ++e)
              dst[e] += float((double(dm[size_t(e)]) - base_mean[size_t(b)]) / base_sd[size_t(b)] / double(M));
          } else {
            std::copy(dm.begin(), dm.end(), dst + (mc_dim ? m * S2 : 0));
          }
        }
      }
    }
    if (opt.keep_cell) out.write_rows("cell", row0, B, block.data());
    for (size_t k = 0; k < groups.size(); ++k)
      for (int64_t b = 0; b < B; ++b) {
        const int32_t gi = groups[k].group[size_t(row0 + b)];
        double* acc = sums[k].data() + size_t(gi) * size_t(per_cell);
        const float* src = block.data() + b * per_cell;
        for (int64_t e = 0; e < per_cell; ++e) acc[e] += double(src[e]);
      }
  });
  std::vector<GroupDistances> result;
  for (size_t k = 0; k < groups.size(); ++k) {
    GroupDistances gd{groups[k].key, groups[k].names, std::vector<float>(sums[k].size())};
    for (size_t gi = 0; gi < groups[k].names.size(); ++gi)
      for (int64_t e = 0; e < per_cell; ++e)
        gd.values[gi * size_t(per_cell) + size_t(e)] =
            float(sums[k][gi * size_t(per_cell) + size_t(e)] / double(groups[k].counts[gi]));
    out.write(groups[k].key, gd.values.data());
    result.push_back(std::move(gd));
  }
  out.attribute("", "norm", opt.norm);
  out.attribute("", "representation", opt.normalize ? "normalized" : (sampled ? "sampled" : "mean"));
  return result;
}

}  // namespace cuvi::workflow
