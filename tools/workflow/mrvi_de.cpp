// Counterfactual DE: design matrix, per-cell regression operators cached by admissibility pattern,
// eps draws per minibatch, statistics on the host in double, LFC decodes on the device.
#include "tools/workflow/mrvi_de.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "tools/workflow/chi2.h"
#include "tools/workflow/mrvi_counterfactual.h"
#include "tools/workflow/mrvi_de_math.h"

namespace cuvi::workflow {
namespace {

constexpr int64_t kDeSteps = int64_t(0xD0000000u);  // Philox steps of the DE passes

// Per-cell regression operators for one admissibility pattern: A = pinv(M) X^T D (k, S'), P = sqrtm(M).
struct Operators {
  std::vector<double> A, P;
  int64_t n_admissible = 0;
};

Operators operators_for(const DesignMatrix& dm, const std::vector<uint8_t>& adm, double lambd) {
  const int64_t S = int64_t(dm.samples.size()), k = int64_t(dm.names.size());
  std::vector<double> M(size_t(k * k), 0.0);
  Operators o;
  for (int64_t s = 0; s < S; ++s) {
    if (!adm[size_t(s)]) continue;
    ++o.n_admissible;
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b) M[size_t(a * k + b)] += dm.x[size_t(s * k + a)] * dm.x[size_t(s * k + b)];
  }
  for (int64_t a = 0; a < k; ++a) M[size_t(a * k + a)] += lambd;
  o.P = psd_sqrtm(M, k);
  const std::vector<double> inv = symmetric_pinv(M, k);
  o.A.assign(size_t(k * S), 0.0);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t s = 0; s < S; ++s) {
      if (!adm[size_t(s)]) continue;
      double v = 0;
      for (int64_t b = 0; b < k; ++b) v += inv[size_t(a * k + b)] * dm.x[size_t(s * k + b)];
      o.A[size_t(a * S + s)] = v;
    }
  return o;
}

TensorId upload(Tape& tape, DType t, const Shape& shape, const void* host) {
  Tensor x = tape.arena().tensor(t, shape);
  tape.backend().upload(x.data, host, x.nbytes());
  return tape.input(x);
}

}  // namespace

DesignMatrix design_matrix(const PreparedData& data, const std::vector<std::string>& keys,
                           const std::vector<std::string>& subset, bool normalize, bool batch_offsets,
                           std::vector<std::string>* warnings) {
  CUVI_CHECK(!keys.empty(), "differential expression needs --sample-cov-keys");
  const SampleTable t = sample_table(data, keys);
  DesignMatrix dm;
  for (const std::string& s : subset)
    CUVI_CHECK(std::find(t.samples.begin(), t.samples.end(), s) != t.samples.end(),
               "--sample-subset: '" + s + "' is not a sample of the model");
  for (size_t s = 0; s < t.samples.size(); ++s) {
    if (!subset.empty() && std::find(subset.begin(), subset.end(), t.samples[s]) == subset.end()) continue;
    CUVI_CHECK(t.n_cells[s] > 0, "sample '" + t.samples[s] + "' has no cells in " + data.data.path +
                                     ", so its covariates are unknown; restrict the samples with --sample-subset");
    dm.samples.push_back(int32_t(s));
  }
  CUVI_CHECK(dm.samples.size() >= 2, "differential expression needs at least two samples");
  const int64_t S = int64_t(dm.samples.size());
  std::vector<std::vector<float>> cols;
  for (size_t k = 0; k < t.columns.size(); ++k) {
    const SampleColumn& c = t.columns[k];
    if (c.numeric) {
      std::vector<float> v;
      for (int32_t s : dm.samples) v.push_back(float(c.values[size_t(s)]));
      cols.push_back(v);
      dm.names.push_back(c.name);
      dm.key_of_column.push_back(int(k));
      continue;
    }
    std::vector<std::string> levels;  // used levels among the kept samples, in category order
    for (const std::string& lv : c.categories)
      for (int32_t s : dm.samples)
        if (c.text[size_t(s)] == lv) {
          levels.push_back(lv);
          break;
        }
    for (size_t l = 1; l < levels.size(); ++l) {  // drop_first
      std::vector<float> v;
      for (int32_t s : dm.samples) v.push_back(c.text[size_t(s)] == levels[l] ? 1.f : 0.f);
      cols.push_back(v);
      dm.names.push_back(c.name + "_" + levels[l]);
      dm.key_of_column.push_back(int(k));
    }
  }
  CUVI_CHECK(!cols.empty(), "the sample covariates give an empty design matrix (each takes one value)");
  if (normalize)
    for (auto& v : cols) {  // float32 arithmetic, as numpy on the float32 matrix
      const float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
      const float den = 1e-6f + hi - lo;
      for (float& x : v) x = (x - lo) / den;
    }
  const int64_t Nb = int64_t(data.registry.batch_categories.size());
  std::vector<int32_t> sample_batch(t.samples.size(), -1);
  for (size_t i = 0; i < data.sample.size(); ++i)
    if (sample_batch[size_t(data.sample[i])] < 0) sample_batch[size_t(data.sample[i])] = data.cells.batch[i];
  if (batch_offsets) {
    std::set<int32_t> seen;
    for (int32_t s : dm.samples) seen.insert(sample_batch[size_t(s)]);
    if (int64_t(seen.size()) == Nb) {
      std::vector<std::vector<float>> off;
      for (int64_t b = 0; b < Nb; ++b) {
        std::vector<float> v;
        for (int32_t s : dm.samples) v.push_back(sample_batch[size_t(s)] == b ? 1.f : 0.f);
        off.push_back(v);
        dm.offset_columns.push_back(b);
      }
      cols.insert(cols.begin(), off.begin(), off.end());
      std::vector<std::string> names;
      for (int64_t b = 0; b < Nb; ++b) names.push_back("offset_batch_" + std::to_string(b));
      dm.names.insert(dm.names.begin(), names.begin(), names.end());
      dm.key_of_column.insert(dm.key_of_column.begin(), size_t(Nb), -1);
    } else {
      warnings->push_back("the kept samples cover " + std::to_string(seen.size()) + " of " + std::to_string(Nb) +
                          " batches; batch-specific offsets assume samples nest in batches and are turned off");
    }
  }
  const int64_t k = int64_t(cols.size());
  dm.x.assign(size_t(S * k), 0.0);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t s = 0; s < S; ++s) dm.x[size_t(s * k + j)] = double(cols[size_t(j)][size_t(s)]);
  return dm;
}

void differential_expression(MrviSession& session, const PreparedData& data, const MrviDeOptions& opt,
                             io::NetcdfWriter& out, std::vector<std::string>* warnings) {
  CUVI_CHECK(opt.mc_samples >= 2, "--mc-samples must be at least 2 (the LFC spread needs two draws)");
  CUVI_CHECK(opt.lambd >= 0, "--lambd must be non-negative");
  for (const std::string& k : opt.store_lfc_metadata_subset)
    CUVI_CHECK(std::find(opt.sample_cov_keys.begin(), opt.sample_cov_keys.end(), k) != opt.sample_cov_keys.end(),
               "--store-lfc-metadata-subset: '" + k + "' is not one of --sample-cov-keys");
  const DesignMatrix dm = design_matrix(data, opt.sample_cov_keys, opt.sample_subset, opt.normalize_design_matrix,
                                        opt.add_batch_specific_offsets, warnings);
  models::MrviModel& model = session.model();
  const models::MrviConfig& c = model.config();
  const int64_t N = data.counts().n_rows, S = int64_t(dm.samples.size()), k = int64_t(dm.names.size());
  const int64_t L = c.n_latent, G = c.n_genes, M = opt.mc_samples, Nb = c.n_batch;
  const bool offsets = !dm.offset_columns.empty();

  // Admissibility (N, S'): every pair, or the outlier rule's verdict (samples without cells: inadmissible).
  std::vector<uint8_t> adm(size_t(N * S), 1);
  if (opt.filter_inadmissible_samples) {
    const OutlierResult r = outlier_cell_sample_pairs(session, data, opt.outliers);
    std::vector<int64_t> col(size_t(c.n_sample), -1);
    for (size_t j = 0; j < r.samples.size(); ++j) col[size_t(r.samples[j])] = int64_t(j);
    const int64_t Sr = int64_t(r.samples.size());
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < S; ++j) {
        const int64_t cj = col[size_t(dm.samples[size_t(j)])];
        adm[size_t(n * S + j)] = cj < 0 ? 0 : r.admissible[size_t(n * Sr + cj)];
      }
  }
  // LFC columns: covariates of the requested keys (all keys by default), never the batch offsets.
  std::vector<int64_t> lfc_cols;
  if (opt.store_lfc)
    for (int64_t j = 0; j < k; ++j) {
      const int key = dm.key_of_column[size_t(j)];
      if (key < 0) continue;
      const std::string& name = opt.sample_cov_keys[size_t(key)];
      if (opt.store_lfc_metadata_subset.empty() ||
          std::find(opt.store_lfc_metadata_subset.begin(), opt.store_lfc_metadata_subset.end(), name) !=
              opt.store_lfc_metadata_subset.end())
        lfc_cols.push_back(j);
    }
  const int64_t K2 = int64_t(lfc_cols.size());
  const bool with_delta = !std::isnan(opt.delta);
  // Batch weights of the LFC average: uniform, or each offset column's admissible share.
  std::vector<double> w_batch(size_t(Nb), 1.0 / double(Nb));
  if (offsets && opt.store_lfc)
    for (int64_t b = 0; b < Nb; ++b) {
      double acc = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s)
          acc += adm[size_t(n * S + s)] * dm.x[size_t(s * k + dm.offset_columns[size_t(b)])];
      w_batch[size_t(b)] = acc / double(N);
    }
  double w_sum = 0;
  for (double w : w_batch) w_sum += w;

  out.coordinate("cell_name", data.data.obs.index);
  out.coordinate("covariate", dm.names);
  std::vector<int64_t> latent(static_cast<size_t>(L));
  for (int64_t d = 0; d < L; ++d) latent[size_t(d)] = d;
  out.coordinate("latent_dim", latent);
  out.coordinate("gene", data.registry.genes);
  out.variable("beta", {"cell_name", "covariate", "latent_dim"}, io::NcType::F32);
  std::string lfc_dim = "covariate";
  if (opt.store_lfc) {
    if (!opt.store_lfc_metadata_subset.empty() || offsets) {
      lfc_dim = "covariate_sub";
      std::vector<std::string> sub;
      for (int64_t j : lfc_cols) sub.push_back(dm.names[size_t(j)]);
      out.coordinate("covariate_sub", sub);
    }
    out.variable("lfc", {"cell_name", lfc_dim, "gene"}, io::NcType::F32);
    if (with_delta) {
      out.variable("lfc_std", {"cell_name", lfc_dim, "gene"}, io::NcType::F32);
      out.variable("pde", {"cell_name", lfc_dim, "gene"}, io::NcType::F32);
    }
  }

  std::map<std::vector<uint8_t>, Operators> cache;
  std::vector<double> effect(size_t(N * k), 0.0), pvalue(size_t(N * k), 0.0);
  std::vector<int64_t> n_adm(size_t(N), 0);
  CounterfactualOptions co;
  co.use_mean = false;
  co.mc_samples = M;
  co.want_eps = true;
  co.samples = dm.samples;
  co.max_rows = opt.max_rows;
  session.backend().ctx().seed = opt.seed;
  int64_t step = kDeSteps;
  std::vector<float> eps;
  session.for_each_batch(0, [&](Tape& tape, const MiniBatch& mb, int64_t row0) {
    const int64_t B = mb.n;
    step = counterfactual_latents(session, tape, mb, co, step, &eps);  // (M, B, S, L)
    std::vector<float> beta_out(size_t(B * k * L), 0.f);
    std::vector<double> beta_draw(size_t(M * B * k * L)), eps_mean(size_t(M * B * L));
    for (int64_t b = 0; b < B; ++b) {
      const std::vector<uint8_t> pattern(adm.begin() + (row0 + b) * S, adm.begin() + (row0 + b + 1) * S);
      auto it = cache.find(pattern);
      if (it == cache.end()) it = cache.emplace(pattern, operators_for(dm, pattern, opt.lambd)).first;
      const Operators& op = it->second;
      n_adm[size_t(row0 + b)] = op.n_admissible;
      std::vector<double> ts(size_t(k), 0.0), bt(size_t(k * L)), e(size_t(S * L)), sd(static_cast<size_t>(L));
      for (int64_t m = 0; m < M; ++m) {
        const float* src = eps.data() + ((m * B + b) * S) * L;
        for (int64_t d = 0; d < L; ++d) {
          double mu = 0;
          for (int64_t s = 0; s < S; ++s) mu += src[s * L + d];
          mu /= double(S);
          double v = 0;
          for (int64_t s = 0; s < S; ++s) v += (src[s * L + d] - mu) * (src[s * L + d] - mu);
          sd[size_t(d)] = std::sqrt(v / double(S - 1));  // torch.std: unbiased
          eps_mean[size_t((m * B + b) * L + d)] = mu;
          for (int64_t s = 0; s < S; ++s) e[size_t(s * L + d)] = (src[s * L + d] - mu) / (1e-6 + sd[size_t(d)]);
        }
        std::fill(bt.begin(), bt.end(), 0.0);
        for (int64_t a = 0; a < k; ++a)
          for (int64_t s = 0; s < S; ++s) {
            const double w = op.A[size_t(a * S + s)];
            if (w == 0) continue;
            for (int64_t d = 0; d < L; ++d) bt[size_t(a * L + d)] += w * e[size_t(s * L + d)];
          }
        for (int64_t l = 0; l < k; ++l)
          for (int64_t d = 0; d < L; ++d) {
            double v = 0;
            for (int64_t a = 0; a < k; ++a) v += op.P[size_t(a * k + l)] * bt[size_t(a * L + d)];
            ts[size_t(l)] += v * v / double(M);
          }
        for (int64_t a = 0; a < k; ++a)
          for (int64_t d = 0; d < L; ++d) {
            const double scaled = bt[size_t(a * L + d)] * sd[size_t(d)];
            beta_draw[size_t(((m * B + b) * k + a) * L + d)] = scaled;
            beta_out[size_t((b * k + a) * L + d)] += float(scaled / double(M));
          }
      }
      const double df = std::max<double>(1.0, double(op.n_admissible));
      for (int64_t l = 0; l < k; ++l) {
        effect[size_t((row0 + b) * k + l)] = ts[size_t(l)];
        pvalue[size_t((row0 + b) * k + l)] = chi2_sf(ts[size_t(l)], df);
      }
    }
    out.write_rows("beta", row0, B, beta_out.data());
    if (!opt.store_lfc || K2 == 0) return;

    // LFC: for each batch, LFC column and draw, h(z_base(u) + beta + off, b) against h(z_base(u) + off, b)
    // with one u ~ q(u|x, s_n) shared by the pair. Units (c, m) of B rows each.
    models::Graph g{tape, model.params(), false, nullptr};
    const models::MrviInputs in = model.inputs(tape, mb);
    set_philox_step(session.backend(), step++);
    const models::MrviModule::QuOut qu = model.module().encode_u(g, in.x, in.sample);
    std::vector<double> mean_acc(size_t(K2 * B * G), 0.0), var_acc(size_t(K2 * B * G), 0.0), pde(size_t(K2 * B * G), 0.0);
    std::vector<double> s1(size_t(K2 * B * G)), s2(size_t(K2 * B * G));
    const int64_t units = K2 * M, per_pass = std::max<int64_t>(1, opt.max_rows / B);
    const size_t mark = tape.arena().used();
    std::vector<float> h1, h0;
    for (int64_t bb = 0; bb < Nb; ++bb) {
      std::fill(s1.begin(), s1.end(), 0.0);
      std::fill(s2.begin(), s2.end(), 0.0);
      for (int64_t u0 = 0; u0 < units; u0 += per_pass) {
        const int64_t u1 = std::min(units, u0 + per_pass), R = (u1 - u0) * B;
        std::vector<int32_t> cell(static_cast<size_t>(R)), batch(static_cast<size_t>(R), int32_t(bb));
        std::vector<float> extra1(static_cast<size_t>(R * L)), extra0(static_cast<size_t>(R * L));
        for (int64_t uu = u0; uu < u1; ++uu) {
          const int64_t ci = uu / M, m = uu % M, col = lfc_cols[size_t(ci)];
          for (int64_t b = 0; b < B; ++b) {
            const int64_t r = (uu - u0) * B + b;
            cell[size_t(r)] = int32_t(b);
            for (int64_t d = 0; d < L; ++d) {
              double off = eps_mean[size_t((m * B + b) * L + d)];
              if (offsets) off += beta_draw[size_t(((m * B + b) * k + dm.offset_columns[size_t(bb)]) * L + d)];
              extra0[size_t(r * L + d)] = float(off);
              extra1[size_t(r * L + d)] = float(off + beta_draw[size_t(((m * B + b) * k + col) * L + d)]);
            }
          }
        }
        set_philox_step(session.backend(), step++);
        const TensorId cell_id = upload(tape, DType::I32, Shape{R}, cell.data());
        const TensorId batch_id = upload(tape, DType::I32, Shape{R}, batch.data());
        TensorId u = g.apply("embedding", {qu.mean, cell_id});
        const TensorId scale = g.apply("embedding", {qu.scale, cell_id});
        u = g.apply("add", {u, g.apply("mul", {models::normal_noise(g, "qu", u), scale})});
        const TensorId zb = model.module().z_base(g, u);
        const TensorId z1 = g.apply("add", {zb, upload(tape, DType::F32, Shape{R, L}, extra1.data())});
        const TensorId z0 = g.apply("add", {zb, upload(tape, DType::F32, Shape{R, L}, extra0.data())});
        const TensorId x1 = model.module().decode(g, z1, kNoTensor, batch_id).h;
        const TensorId x0 = model.module().decode(g, z0, kNoTensor, batch_id).h;
        h1.resize(size_t(R * G));
        h0.resize(size_t(R * G));
        session.backend().download(h1.data(), tape.value(x1).data, h1.size() * sizeof(float));
        session.backend().download(h0.data(), tape.value(x0).data, h0.size() * sizeof(float));
        for (int64_t uu = u0; uu < u1; ++uu) {
          const int64_t ci = uu / M;
          for (int64_t b = 0; b < B; ++b) {
            const int64_t r = (uu - u0) * B + b;
            double* a1 = s1.data() + (ci * B + b) * G;
            double* a2 = s2.data() + (ci * B + b) * G;
            double* pd = pde.data() + (ci * B + b) * G;
            for (int64_t gi = 0; gi < G; ++gi) {
              const double lfc = std::log2(double(h1[size_t(r * G + gi)]) + opt.eps_lfc) -
                                 std::log2(double(h0[size_t(r * G + gi)]) + opt.eps_lfc);
              a1[gi] += lfc;
              a2[gi] += lfc * lfc;
              if (with_delta && std::fabs(lfc) >= opt.delta) pd[gi] += 1.0;
            }
          }
        }
        tape.arena().rewind(mark);
      }
      for (size_t e = 0; e < s1.size(); ++e) {
        const double mean = s1[e] / double(M);
        mean_acc[e] += w_batch[size_t(bb)] * mean;
        var_acc[e] += w_batch[size_t(bb)] * (s2[e] - double(M) * mean * mean) / double(M - 1);
      }
    }
    // (c, b, g) -> (b, c, g) rows of the output
    std::vector<float> lfc(size_t(B * K2 * G)), lstd(size_t(B * K2 * G)), pdev(size_t(B * K2 * G));
    for (int64_t ci = 0; ci < K2; ++ci)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t gi = 0; gi < G; ++gi) {
          const size_t src = size_t((ci * B + b) * G + gi), dst = size_t((b * K2 + ci) * G + gi);
          lfc[dst] = float(mean_acc[src] / w_sum);
          lstd[dst] = float(std::sqrt(std::max(0.0, var_acc[src] / w_sum)));
          pdev[dst] = float(pde[src] / double(M * Nb));
        }
    out.write_rows("lfc", row0, B, lfc.data());
    if (with_delta) {
      out.write_rows("lfc_std", row0, B, lstd.data());
      out.write_rows("pde", row0, B, pdev.data());
    }
  });
  const std::vector<double> padj = benjamini_hochberg(pvalue);
  out.variable("effect_size", {"cell_name", "covariate"}, io::NcType::F32);
  out.variable("pvalue", {"cell_name", "covariate"}, io::NcType::F64);
  out.variable("padj", {"cell_name", "covariate"}, io::NcType::F64);
  std::vector<float> eff32(effect.begin(), effect.end());
  out.write("effect_size", eff32.data());
  out.write("pvalue", pvalue.data());
  out.write("padj", padj.data());
  if (opt.filter_inadmissible_samples) {
    out.variable("n_samples", {"cell_name"}, io::NcType::I64);
    out.write("n_samples", n_adm.data());
  }
}

}  // namespace cuvi::workflow
