// Differential abundance (streaming logsumexp over each sample's cells) and outliers (streaming max),
// both from GaussianBank blocks of query cells against component cells.
#include "tools/workflow/mrvi_abundance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "kernels/cpu/gather.h"
#include "tools/workflow/de_stats.h"

namespace cuvi::workflow {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr uint32_t kSubsampleStream = 0x4f555453u;  // Philox stream of the outlier subsamples

// Query rows per block so that a block of log densities stays near 64 MiB.
int64_t block_rows(int64_t n_components) { return std::max<int64_t>(1, (int64_t(8) << 20) / std::max<int64_t>(1, n_components)); }

double logsumexp(const double* v, int64_t n) {
  double m = kNegInf;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, v[i]);
  if (m == kNegInf) return kNegInf;
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(v[i] - m);
  return m + std::log(s);
}

std::vector<int32_t> present_samples(const PreparedData& data) {
  std::vector<int32_t> out;
  const std::vector<int64_t> n = cells_per_sample(data);
  for (size_t s = 0; s < n.size(); ++s)
    if (n[s] > 0) out.push_back(int32_t(s));
  return out;
}

}  // namespace

void differential_abundance(MrviSession& session, const PreparedData& data, const DaOptions& opt,
                            io::NetcdfWriter& out, std::vector<std::string>* warnings) {
  const SampleTable table = sample_table(data, opt.sample_cov_keys);
  const std::vector<int32_t> present = present_samples(data);
  const int64_t N = data.counts().n_rows, Sp = int64_t(present.size());
  for (const std::string& s : opt.sample_subset)
    CUVI_CHECK(std::find(table.samples.begin(), table.samples.end(), s) != table.samples.end(),
               "--sample-subset: '" + s + "' is not a sample of the model");
  const QuPosterior q = qu_posterior(session);
  // Components ordered by sample: each sample's cells are one contiguous column range.
  std::vector<int64_t> comps, start(table.samples.size() + 1, 0);
  for (int32_t s : data.sample) ++start[size_t(s) + 1];
  for (size_t s = 0; s < table.samples.size(); ++s) start[s + 1] += start[s];
  comps.resize(size_t(N));
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < N; ++i) comps[size_t(fill[size_t(data.sample[size_t(i)])]++)] = i;
  }
  const GaussianBank bank(q, comps);
  std::vector<double> log_probs(size_t(N * Sp));
  const int64_t rows = block_rows(N);
  std::vector<double> dens;
  for (int64_t r0 = 0; r0 < N; r0 += rows) {
    const int64_t nr = std::min(rows, N - r0);
    bank.log_density(q.mean.data() + r0 * q.d, nr, &dens);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < nr; ++r)
      for (int64_t j = 0; j < Sp; ++j) {
        const int32_t s = present[size_t(j)];
        const int64_t n_s = start[size_t(s) + 1] - start[size_t(s)];
        log_probs[size_t((r0 + r) * Sp + j)] = logsumexp(dens.data() + r * N + start[size_t(s)], n_s) - std::log(double(n_s));
      }
  }
  std::vector<std::string> names;
  for (int32_t s : present) names.push_back(table.samples[size_t(s)]);
  out.coordinate("cell_name", data.data.obs.index);
  out.coordinate("sample", names);
  out.variable("log_probs", {"cell_name", "sample"}, io::NcType::F32);
  std::vector<float> lp32(log_probs.begin(), log_probs.end());
  out.write("log_probs", lp32.data());

  // log q_A(u_n) for a set A of present-sample columns, the cell's own sample left out when asked.
  auto aggregate = [&](const std::vector<int64_t>& cols, std::vector<double>* res) {
    res->assign(size_t(N), 0.0);
    std::vector<double> v;
    for (int64_t n = 0; n < N; ++n) {
      v.clear();
      int64_t count = 0;
      for (int64_t j : cols) {
        const bool own = opt.omit_original_sample && present[size_t(j)] == data.sample[size_t(n)];
        v.push_back(own ? kNegInf : log_probs[size_t(n * Sp + j)]);
        count += own ? 0 : 1;
      }
      // Only the cell's own sample in A: -inf - log 0 = NaN, as scvi-tools gives.
      (*res)[size_t(n)] = count == 0 ? NAN : logsumexp(v.data(), int64_t(v.size())) - std::log(double(count));
    }
  };
  for (const SampleColumn& col : table.columns) {
    std::vector<std::string> values;  // unique() over present samples in registered order
    for (int32_t s : present)
      if (std::find(values.begin(), values.end(), col.text[size_t(s)]) == values.end()) values.push_back(col.text[size_t(s)]);
    if (2 * int64_t(values.size()) > Sp)
      warnings->push_back("the covariate '" + col.name + "' does not seem discrete: " + std::to_string(values.size()) +
                          " values for " + std::to_string(Sp) + " samples");
    std::vector<std::string> kept;
    std::vector<double> probs, enrich;
    for (const std::string& v : values) {
      std::vector<int64_t> in, rest;
      for (int64_t j = 0; j < Sp; ++j) {
        const std::string& name = names[size_t(j)];
        const bool has = col.text[size_t(present[size_t(j)])] == v;
        const bool allowed = opt.sample_subset.empty() ||
                             std::find(opt.sample_subset.begin(), opt.sample_subset.end(), name) != opt.sample_subset.end();
        if (has && allowed) in.push_back(j);
        if (!(has && allowed)) rest.push_back(j);
      }
      if (in.empty()) continue;
      kept.push_back(v);
      std::vector<double> a;
      aggregate(in, &a);
      probs.insert(probs.end(), a.begin(), a.end());
      if (opt.compute_log_enrichment) {
        std::vector<double> b(size_t(N), NAN);
        if (rest.empty())
          warnings->push_back("all samples have " + col.name + "=" + v + "; its log enrichment is NaN");
        else
          aggregate(rest, &b);
        for (int64_t n = 0; n < N; ++n) b[size_t(n)] = a[size_t(n)] - b[size_t(n)];
        enrich.insert(enrich.end(), b.begin(), b.end());
      }
    }
    // (values, N) -> (N, values)
    auto transpose = [&](const std::vector<double>& vn) {
      std::vector<double> t(vn.size());
      const size_t V = kept.size();
      for (size_t k = 0; k < V; ++k)
        for (int64_t n = 0; n < N; ++n) t[size_t(n) * V + k] = vn[k * size_t(N) + size_t(n)];
      return t;
    };
    if (col.numeric) {
      std::vector<int64_t> iv;
      bool integral = true;
      for (const std::string& v : kept) {
        const double x = std::stod(v);
        integral = integral && x == std::floor(x);
        iv.push_back(int64_t(x));
      }
      if (integral)
        out.coordinate(col.name, iv);
      else
        out.coordinate(col.name, kept);
    } else {
      out.coordinate(col.name, kept);
    }
    out.variable(col.name + "_log_probs", {"cell_name", col.name}, io::NcType::F64);
    out.write(col.name + "_log_probs", transpose(probs).data());
    if (opt.compute_log_enrichment) {
      out.variable(col.name + "_log_enrichs", {"cell_name", col.name}, io::NcType::F64);
      out.write(col.name + "_log_enrichs", transpose(enrich).data());
    }
  }
}

OutlierResult outlier_cell_sample_pairs(MrviSession& session, const PreparedData& data, const OutlierOptions& opt) {
  CUVI_CHECK(opt.subsample_size >= 1, "--subsample-size must be positive");
  CUVI_CHECK(opt.quantile_threshold >= 0 && opt.quantile_threshold <= 1, "--quantile-threshold must be in [0, 1]");
  OutlierResult r;
  r.samples = present_samples(data);
  const int64_t N = data.counts().n_rows, Sp = int64_t(r.samples.size());
  r.n_cells = N;
  const QuPosterior q = qu_posterior(session);
  std::vector<std::vector<int64_t>> cells(size_t(session.model().config().n_sample));
  for (int64_t i = 0; i < N; ++i) cells[size_t(data.sample[size_t(i)])].push_back(i);
  std::vector<double> lp(size_t(N * Sp), kNegInf), within;
  std::vector<double> dens;
  for (int64_t j = 0; j < Sp; ++j) {
    std::vector<int64_t> sub = cells[size_t(r.samples[size_t(j)])];
    if (int64_t(sub.size()) > opt.subsample_size) {
      std::vector<int32_t> perm(sub.size());
      cpu::philox_permutation(opt.seed, uint32_t(r.samples[size_t(j)]), kSubsampleStream, int64_t(sub.size()), perm.data());
      std::vector<int64_t> pick;
      for (int64_t k = 0; k < opt.subsample_size; ++k) pick.push_back(sub[size_t(perm[size_t(k)])]);
      std::sort(pick.begin(), pick.end());
      sub = pick;
    }
    const GaussianBank bank(q, sub);
    const int64_t K = bank.size();
    // Within-sample maxima over j != i.
    std::vector<float> us;
    for (int64_t i : sub) us.insert(us.end(), q.mean.begin() + i * q.d, q.mean.begin() + (i + 1) * q.d);
    bank.log_density(us.data(), K, &dens);
    for (int64_t a = 0; a < K; ++a) {
      double m = kNegInf;
      for (int64_t b = 0; b < K; ++b)
        if (b != a) m = std::max(m, dens[size_t(a * K + b)]);
      within.push_back(m);
    }
    const int64_t rows = block_rows(K);
    for (int64_t r0 = 0; r0 < N; r0 += rows) {
      const int64_t nr = std::min(rows, N - r0);
      bank.log_density(q.mean.data() + r0 * q.d, nr, &dens);
      for (int64_t n = 0; n < nr; ++n) {
        double m = kNegInf;
        for (int64_t b = 0; b < K; ++b) m = std::max(m, dens[size_t(n * K + b)]);
        lp[size_t((r0 + n) * Sp + j)] = m;
      }
    }
  }
  r.threshold = quantile_linear(within, opt.quantile_threshold);
  r.log_probs.resize(lp.size());
  r.log_ratios.resize(lp.size());
  r.admissible.resize(lp.size());
  for (size_t k = 0; k < lp.size(); ++k) {
    const double ratio = lp[k] - r.threshold;
    r.log_probs[k] = float(lp[k]);
    r.log_ratios[k] = float(ratio);
    r.admissible[k] = uint8_t(ratio > opt.admissibility_threshold);
  }
  return r;
}

void write_outliers(const OutlierResult& r, const PreparedData& data, io::NetcdfWriter& out) {
  std::vector<std::string> names;
  for (int32_t s : r.samples) names.push_back(data.registry.sample_categories[size_t(s)]);
  out.coordinate("cell_name", data.data.obs.index);
  out.coordinate("sample", names);
  out.variable("log_probs", {"cell_name", "sample"}, io::NcType::F32);
  out.variable("log_ratios", {"cell_name", "sample"}, io::NcType::F32);
  out.variable("is_admissible", {"cell_name", "sample"}, io::NcType::Bool);
  out.write("log_probs", r.log_probs.data());
  out.write("log_ratios", r.log_ratios.data());
  out.write("is_admissible", r.admissible.data());
  out.attribute("", "threshold", std::to_string(r.threshold));
}

}  // namespace cuvi::workflow
