// The Benchmarker loop: per embedding one neighbour search, the connectivity graphs the metrics need, and
// each enabled metric in scib-metrics' column order.
#include "tools/workflow/scib_benchmark.h"

#include <chrono>
#include <cmath>

#include "engine/error.h"
#include "tools/workflow/connectivities.h"
#include "tools/workflow/neighbors.h"
#include "tools/workflow/scib_graph.h"
#include "tools/workflow/scib_kbet.h"
#include "tools/workflow/scib_lisi.h"
#include "tools/workflow/scib_nmi_ari.h"
#include "tools/workflow/scib_pcr.h"
#include "tools/workflow/scib_silhouette.h"

namespace cuvi::workflow {
namespace {

constexpr int64_t kNeighbors = 90;  // the Benchmarker's neighbour values are 15, 50 and 90
const char* const kBio = "Bio conservation";
const char* const kBatch = "Batch correction";

double seconds_since(std::chrono::steady_clock::time_point* last) {
  const auto now = std::chrono::steady_clock::now();
  const double s = std::chrono::duration<double>(now - *last).count();
  *last = now;
  return s;
}

// One embedding's row: values in column order, each metric's time since the previous one (work shared by
// two metrics, as the label silhouettes, counts for the first).
struct Row {
  BenchmarkTable* t;
  bool first;
  std::chrono::steady_clock::time_point last;
  void add(const char* name, const char* type, double value) {
    if (first) {
      t->metrics.push_back(name);
      t->metric_types.push_back(type);
    }
    t->values.back().push_back(value);
    t->metric_seconds.back().push_back(seconds_since(&last));
  }
};

}  // namespace

BenchmarkTable run_benchmark(Backend& backend, const BenchmarkData& data, const std::vector<Embedding>& embeddings,
                             const BenchmarkMetrics& which) {
  const int64_t n = data.n;
  const int32_t L = int32_t(data.label_names.size()), B = int32_t(data.batch_names.size());
  CUVI_CHECK(!embeddings.empty(), "benchmark: no embeddings to score");
  CUVI_CHECK(n > kNeighbors, "benchmark: " + std::to_string(n) + " cells; the Benchmarker's 90-neighbour graph needs more than 90");
  CUVI_CHECK(L >= 2, "benchmark: the labels hold a single group; the bio-conservation metrics need at least two");
  CUVI_CHECK(B >= 2, "benchmark: the batches hold a single group; the batch-correction metrics need at least two");
  BenchmarkTable t;
  double pcr_pre = NAN;
  if (which.pcr_comparison) pcr_pre = pcr_score(data.pre_integrated.data(), n, data.pre_d, data.batches, B);
  for (size_t e = 0; e < embeddings.size(); ++e) {
    const Embedding& emb = embeddings[e];
    CUVI_CHECK(int64_t(emb.x.size()) == n * emb.d, "benchmark: embedding " + emb.key + " does not have n x d values");
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    const NeighborGraph g90 = nearest_neighbors(backend, emb.x.data(), n, emb.d, kNeighbors);
    const NeighborGraph g15 = g90.first(15), g50 = g90.first(50);
    t.neighbor_seconds.push_back(seconds_since(&last));
    t.embeddings.push_back(emb.key);
    t.values.emplace_back();
    t.metric_seconds.emplace_back();
    Row row{&t, e == 0, last};
    std::vector<double> label_sil;
    if (which.isolated_labels || which.silhouette_label)
      label_sil = silhouette_samples(backend, emb.x.data(), n, emb.d, data.labels, L, PairDistance::Euclidean,
                                     BetweenClusters::Nearest);
    if (which.isolated_labels)
      row.add("Isolated labels", kBio, isolated_labels_score(label_sil, data.labels, L, data.batches, B));
    if (which.leiden_nmi_ari) {
      const NmiAri s = leiden_nmi_ari(umap_connectivities(g15), data.labels, which.leiden_seed);
      row.add("Leiden NMI", kBio, s.nmi);
      row.add("Leiden ARI", kBio, s.ari);
    }
    if (which.kmeans_nmi_ari) {
      const NmiAri s = kmeans_nmi_ari(backend, emb.x.data(), n, emb.d, data.labels, L, which.kmeans_seed);
      row.add("KMeans NMI", kBio, s.nmi);
      row.add("KMeans ARI", kBio, s.ari);
    }
    if (which.silhouette_label) row.add("Silhouette label", kBio, silhouette_label_score(label_sil));
    if (which.clisi) row.add("cLISI", kBio, clisi_score(g90, data.labels, L));
    if (which.bras)
      row.add("BRAS", kBatch,
              silhouette_batch_score(backend, emb.x.data(), n, emb.d, data.labels, L, data.batches, PairDistance::Cosine,
                                     BetweenClusters::MeanOther));
    if (which.ilisi) row.add("iLISI", kBatch, ilisi_score(g90, data.batches, B));
    if (which.kbet)
      row.add("KBET", kBatch,
              kbet_score(kbet_per_label(backend, umap_connectivities(g50), data.batches, data.labels, data.label_names)));
    if (which.graph_connectivity) row.add("Graph connectivity", kBatch, graph_connectivity_score(g15, data.labels, L));
    if (which.pcr_comparison)
      row.add("PCR comparison", kBatch,
              pcr_comparison_score(pcr_pre, pcr_score(emb.x.data(), n, emb.d, data.batches, B)));
    t.seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  aggregate_scores(&t);
  return t;
}

void aggregate_scores(BenchmarkTable* t) {
  t->aggregates.clear();
  for (const auto& v : t->values) {
    double sum[2] = {0, 0};
    int count[2] = {0, 0};
    for (size_t m = 0; m < v.size(); ++m) {
      if (std::isnan(v[m])) continue;
      const int k = t->metric_types[m] == kBatch ? 0 : 1;
      sum[k] += v[m];
      ++count[k];
    }
    const double batch = count[0] ? sum[0] / count[0] : NAN, bio = count[1] ? sum[1] / count[1] : NAN;
    t->aggregates.push_back({batch, bio, 0.4 * batch + 0.6 * bio});
  }
}

ResultTable results_table(const BenchmarkTable& t) {
  ResultTable r;
  r.index_name = "Embedding";
  r.index = t.embeddings;
  r.index.push_back("Metric Type");
  auto column = [&](const std::string& name, const std::string& type, auto value_of) {
    ResultColumn& c = r.add(name, ResultColumn::Text);
    for (size_t e = 0; e < t.embeddings.size(); ++e) {
      const double v = value_of(e);
      c.text.push_back(std::isnan(v) ? std::string() : python_float_repr(v));
    }
    c.text.push_back(type);
  };
  for (size_t m = 0; m < t.metrics.size(); ++m)
    column(t.metrics[m], t.metric_types[m], [&](size_t e) { return t.values[e][m]; });
  const char* names[3] = {kBatch, kBio, "Total"};
  for (int a = 0; a < 3; ++a) column(names[a], "Aggregate score", [&](size_t e) { return t.aggregates[e][size_t(a)]; });
  return r;
}

}  // namespace cuvi::workflow
