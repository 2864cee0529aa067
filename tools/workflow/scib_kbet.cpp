// kBET per label: connectivity subgraphs, connected components (libigraph), diffusion maps (LAPACK for small
// subgraphs, ARPACK beyond), exact neighbours in the diffusion embedding, chi-square acceptance per cell.
#include "tools/workflow/scib_kbet.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"
#include "tools/workflow/chi2.h"
#include "tools/workflow/igraph_util.h"
#include "tools/workflow/label_codes.h"
#include "tools/workflow/sym_eigen.h"

namespace cuvi::workflow {
namespace {

constexpr int64_t kDenseEigenMax = 2000;  // subgraphs up to this size: every eigenpair by LAPACK
constexpr int64_t kMaxK0 = 70, kMinK0 = 10, kMinCells = 10;
constexpr double kEvalEps = 1e-8;  // scib-metrics' _EPS added to the float32 eigenvalues

std::vector<int64_t> component_of(const io::CsrMatrix& m, int64_t* n_comp) {
  std::vector<int64_t> from, to;
  for (int64_t i = 0; i < m.n_rows; ++i)
    for (int64_t p = m.indptr[size_t(i)]; p < m.indptr[size_t(i + 1)]; ++p) {
      from.push_back(i);
      to.push_back(m.indices[size_t(p)]);
    }
  const IgraphGraph g(m.n_rows, from, to, false);
  return connected_components(g, false, n_comp);
}

double kbet_on(Backend& backend, const io::CsrMatrix& conn, const std::vector<int32_t>& batches, int64_t k0,
               int64_t n_comps, double alpha) {
  try {
    const NeighborGraph nn = diffusion_neighbors(backend, conn, k0, n_comps);
    int32_t nb = 0;
    const std::vector<int32_t> codes = compact_codes(batches, &nb, "batch");
    return kbet_acceptance(nn, codes, nb, alpha);
  } catch (const Error&) {
    return 0;  // scib-metrics: "Diffusion distance failed" -> 100% rejection
  }
}

}  // namespace

double kbet_acceptance(const NeighborGraph& g, const std::vector<int32_t>& batches, int32_t n_batches, double alpha) {
  CUVI_CHECK(n_batches >= 2, "kBET requires at least two batches");
  std::vector<double> freq(size_t(n_batches), 0.0);
  for (int32_t b : batches) freq[size_t(b)] += 1;
  for (double& f : freq) f /= double(batches.size());
  std::vector<int64_t> counts(static_cast<size_t>(n_batches));
  int64_t accepted = 0;
  for (int64_t i = 0; i < g.n; ++i) {
    std::fill(counts.begin(), counts.end(), 0);
    for (int64_t t = 0; t < g.k; ++t) ++counts[size_t(batches[size_t(g.indices[size_t(i * g.k + t)])])];
    double stat = 0;
    for (int32_t b = 0; b < n_batches; ++b) {
      const double expected = freq[size_t(b)] * double(g.k);
      stat += (double(counts[size_t(b)]) - expected) * (double(counts[size_t(b)]) - expected) / expected;
    }
    accepted += chi2_sf(stat, double(n_batches - 1)) >= alpha;
  }
  return double(accepted) / double(g.n);
}

io::CsrMatrix csr_submatrix(const io::CsrMatrix& m, const std::vector<int64_t>& keep) {
  std::vector<int64_t> local(size_t(m.n_cols), -1);
  for (size_t r = 0; r < keep.size(); ++r) local[size_t(keep[r])] = int64_t(r);
  io::CsrMatrix s;
  s.n_rows = s.n_cols = int64_t(keep.size());
  s.indptr.assign(keep.size() + 1, 0);
  for (size_t r = 0; r < keep.size(); ++r) {
    const int64_t i = keep[r];
    for (int64_t p = m.indptr[size_t(i)]; p < m.indptr[size_t(i + 1)]; ++p)
      if (local[size_t(m.indices[size_t(p)])] >= 0) {
        s.indices.push_back(int32_t(local[size_t(m.indices[size_t(p)])]));
        s.data.push_back(m.data[size_t(p)]);
      }
    s.indptr[r + 1] = int64_t(s.indices.size());
  }
  return s;
}

NeighborGraph diffusion_neighbors(Backend& backend, const io::CsrMatrix& conn, int64_t k, int64_t n_comps) {
  const int64_t n = conn.n_rows;
  CUVI_CHECK(n >= 2 && n_comps >= 1 && n_comps < n, "diffusion map: needs 1 <= components < cells");
  // Density normalisation (Coifman et al. 2005) and symmetric transitions, as scanpy's _compute_transitions.
  std::vector<double> q(size_t(n), 0.0), z(size_t(n), 0.0), kv(conn.data.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = conn.indptr[size_t(i)]; p < conn.indptr[size_t(i + 1)]; ++p) q[size_t(conn.indices[size_t(p)])] += conn.data[size_t(p)];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = conn.indptr[size_t(i)]; p < conn.indptr[size_t(i + 1)]; ++p) {
      const int64_t j = conn.indices[size_t(p)];
      kv[size_t(p)] = double(conn.data[size_t(p)]) / (q[size_t(i)] * q[size_t(j)]);
      z[size_t(j)] += kv[size_t(p)];
    }
  for (double& v : z) v = std::sqrt(v);
  std::vector<double> t(kv.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = conn.indptr[size_t(i)]; p < conn.indptr[size_t(i + 1)]; ++p)
      t[size_t(p)] = kv[size_t(p)] / (z[size_t(i)] * z[size_t(conn.indices[size_t(p)])]);
  EigenPairs e;
  if (n <= kDenseEigenMax) {
    std::vector<double> dense(size_t(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = conn.indptr[size_t(i)]; p < conn.indptr[size_t(i + 1)]; ++p)
        dense[size_t(i * n + conn.indices[size_t(p)])] = t[size_t(p)];
    e = dense_eigen(std::move(dense), n, n_comps, EigenOrder::LargestMagnitude);
  } else {
    e = arpack_eigen(
        n, n_comps,
        [&](const double* x, double* y) {
          for (int64_t i = 0; i < n; ++i) {
            double s = 0;
            for (int64_t p = conn.indptr[size_t(i)]; p < conn.indptr[size_t(i + 1)]; ++p)
              s += t[size_t(p)] * x[conn.indices[size_t(p)]];
            y[i] = s;
          }
        },
        EigenOrder::LargestMagnitude);
  }
  // float32 as scib-metrics: eigenvalue + 1e-8, scaled lambda / (1 - lambda) unless it is exactly 1.
  std::vector<float> scale(static_cast<size_t>(n_comps));
  for (int64_t j = 0; j < n_comps; ++j) {
    const float ev = float(e.values[size_t(j)]) + float(kEvalEps);
    scale[size_t(j)] = ev == 1.f ? 1.f : ev / (1.f - ev);
  }
  std::vector<float> emb(static_cast<size_t>(n * n_comps));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n_comps; ++j)
      emb[size_t(i * n_comps + j)] = float(e.vectors[size_t(i * n_comps + j)]) * scale[size_t(j)];
  return nearest_neighbors(backend, emb.data(), n, n_comps, std::min(k + 1, n));
}

std::vector<KbetLabel> kbet_per_label(Backend& backend, const io::CsrMatrix& conn, const std::vector<int32_t>& batches,
                                      const std::vector<int32_t>& labels, const std::vector<std::string>& label_names,
                                      const KbetOptions& opts) {
  const int32_t n_labels = int32_t(label_names.size());
  const RowGroups groups = group_rows(labels, n_labels);
  std::vector<int32_t> visit(static_cast<size_t>(n_labels));  // np.unique order: label names sorted
  for (int32_t l = 0; l < n_labels; ++l) visit[size_t(l)] = l;
  std::stable_sort(visit.begin(), visit.end(),
                   [&](int32_t a, int32_t b) { return label_names[size_t(a)] < label_names[size_t(b)]; });
  // scib-metrics lowers its diffusion_n_comps to each subgraph's size - 1 and keeps the lowered value for
  // the labels that follow; so does this loop.
  int64_t comps = opts.diffusion_n_comps;
  std::vector<KbetLabel> out;
  for (int32_t l : visit) {
    std::vector<int64_t> rows(groups.order.begin() + groups.seg[size_t(l)], groups.order.begin() + groups.seg[size_t(l + 1)]);
    std::sort(rows.begin(), rows.end());
    const int64_t n_obs = int64_t(rows.size());
    std::vector<int32_t> sub_batches(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) sub_batches[r] = batches[size_t(rows[r])];
    int32_t nb = 0;
    const std::vector<int32_t> codes = compact_codes(sub_batches, &nb, "batch");
    KbetLabel res{l, std::numeric_limits<double>::quiet_NaN()};
    if (n_obs >= kMinCells && nb > 1) {
      const double mean_count = double(n_obs) / double(nb);
      const int64_t quarter_mean = int64_t(std::floor(mean_count / 4));
      int64_t k0 = std::min(kMaxK0, std::max(kMinK0, quarter_mean));
      const int64_t size_max = (int64_t(1) << 31) - 1;
      if (k0 * n_obs >= size_max) k0 = size_max / n_obs;
      const io::CsrMatrix sub = csr_submatrix(conn, rows);
      int64_t n_comp = 0;
      const std::vector<int64_t> comp = component_of(sub, &n_comp);
      if (n_comp == 1) {
        comps = std::min(comps, n_obs - 1);
        res.score = kbet_on(backend, sub, codes, k0, comps, opts.alpha);
      } else {
        const std::vector<int64_t> sizes = component_sizes(comp, n_comp);
        std::vector<int64_t> keep;
        for (int64_t i = 0; i < n_obs; ++i)
          if (sizes[size_t(comp[size_t(i)])] >= 3 * k0) keep.push_back(i);
        if (double(keep.size()) / double(n_obs) >= 0.75) {
          std::vector<int32_t> kept_batches(keep.size());
          for (size_t r = 0; r < keep.size(); ++r) kept_batches[r] = codes[size_t(keep[r])];
          comps = std::min(comps, int64_t(keep.size()) - 1);
          res.score = kbet_on(backend, csr_submatrix(sub, keep), kept_batches, k0, comps, opts.alpha);
        } else {
          res.score = 0;  // too many small components: 100% rejection
        }
      }
    }
    out.push_back(res);
  }
  return out;
}

double kbet_score(const std::vector<KbetLabel>& per_label) {
  double s = 0;
  int n = 0;
  for (const KbetLabel& l : per_label)
    if (!std::isnan(l.score)) {
      s += l.score;
      ++n;
    }
  return n ? s / n : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace cuvi::workflow
