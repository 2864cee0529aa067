// cuvi's Benchmarker against scib-metrics 0.6 on fixed real-data embeddings (tests/fixtures/scib): every
// deterministic metric within 1e-3 of the reference; k-means and Leiden NMI/ARI, whose reference draws its
// randomness from JAX's and Python's generators, within the range the reference spans over its seeds; the
// aggregates and the results table as get_results() builds them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "tests/cli/cli_test_util.h"
#include "tests/workflow/scib_fixture.h"
#include "tools/workflow/connectivities.h"
#include "tools/workflow/neighbors.h"
#include "tools/workflow/result_table.h"
#include "tools/workflow/scib_lisi.h"
#include "tools/workflow/scib_nmi_ari.h"
#include "tools/workflow/scib_pcr.h"
#include "tools/workflow/scib_silhouette.h"

namespace cuvi::test {
namespace {

constexpr double kMetricTolerance = 1e-3;  // the bound for every deterministic metric
const char* const kDeterministic[] = {"Isolated labels", "Silhouette label", "cLISI", "BRAS",
                                      "iLISI", "KBET", "Graph connectivity", "PCR comparison"};

std::unique_ptr<Backend> cpu() { return make_cpu_backend(1); }

const workflow::BenchmarkTable& table_of(const std::string& name) {
  static std::map<std::string, workflow::BenchmarkTable> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    const ScibDataset ds(name);
    auto b = cpu();
    it = cache.emplace(name, workflow::run_benchmark(*b, ds.data, ds.embeddings)).first;
  }
  return it->second;
}

void expect_deterministic_metrics(const std::string& name) {
  const ScibDataset ds(name);
  ASSERT_FALSE(ds.embeddings.empty()) << "no embeddings in the " << name << " fixture";
  const workflow::BenchmarkTable& t = table_of(name);
  for (size_t e = 0; e < t.embeddings.size(); ++e)
    for (const char* metric : kDeterministic) {
      const size_t m = size_t(std::find(t.metrics.begin(), t.metrics.end(), metric) - t.metrics.begin());
      ASSERT_LT(m, t.metrics.size()) << metric;
      const double want = ds.reference("exact", t.embeddings[e], metric);
      ASSERT_FALSE(std::isnan(want)) << name << " " << t.embeddings[e] << " " << metric;
      EXPECT_NEAR(t.values[e][m], want, kMetricTolerance) << name << " " << t.embeddings[e] << " " << metric;
      // The default Benchmarker (pynndescent neighbours) agrees at these sizes; recorded for reference.
      EXPECT_NEAR(t.values[e][m], ds.reference("default_neighbors", t.embeddings[e], metric), kMetricTolerance)
          << name << " " << t.embeddings[e] << " " << metric << " (pynndescent run)";
    }
}

TEST(ScibReference, PbmcDeterministicMetrics) { expect_deterministic_metrics("pbmc"); }
TEST(ScibReference, CellbenchDeterministicMetrics) { expect_deterministic_metrics("cellbench"); }

// Values of several cuvi seeds must lie within [min, max] of the reference's seeds, and their mean within
// the reference range too: the draws differ (Philox vs JAX/Python), the algorithm does not.
void expect_in_seed_range(const std::vector<double>& ours, const std::vector<double>& ref, const std::string& what) {
  ASSERT_GE(ref.size(), 10u) << what;
  const double lo = *std::min_element(ref.begin(), ref.end()), hi = *std::max_element(ref.begin(), ref.end());
  for (double v : ours) {
    EXPECT_GE(v, lo - kMetricTolerance) << what << " below the reference's seed range [" << lo << ", " << hi << "]";
    EXPECT_LE(v, hi + kMetricTolerance) << what << " above the reference's seed range [" << lo << ", " << hi << "]";
  }
}

void expect_clustering_in_seed_range(const std::string& name) {
  const ScibDataset ds(name);
  auto b = cpu();
  const int32_t L = int32_t(ds.data.label_names.size());
  for (const workflow::Embedding& e : ds.embeddings) {
    std::vector<double> km_nmi, km_ari, ld_nmi, ld_ari;
    const workflow::NeighborGraph g15 = workflow::nearest_neighbors(*b, e.x.data(), ds.data.n, e.d, 15);
    const io::CsrMatrix conn = workflow::umap_connectivities(g15);
    for (uint64_t seed = 0; seed < 5; ++seed) {
      const workflow::NmiAri k = workflow::kmeans_nmi_ari(*b, e.x.data(), ds.data.n, e.d, ds.data.labels, L, seed);
      km_nmi.push_back(k.nmi);
      km_ari.push_back(k.ari);
      const workflow::NmiAri l = workflow::leiden_nmi_ari(conn, ds.data.labels, 42 + seed);
      ld_nmi.push_back(l.nmi);
      ld_ari.push_back(l.ari);
    }
    expect_in_seed_range(km_nmi, ds.seed_values(e.key, "kmeans_nmi"), name + " " + e.key + " KMeans NMI");
    expect_in_seed_range(km_ari, ds.seed_values(e.key, "kmeans_ari"), name + " " + e.key + " KMeans ARI");
    expect_in_seed_range(ld_nmi, ds.seed_values(e.key, "leiden_nmi"), name + " " + e.key + " Leiden NMI");
    expect_in_seed_range(ld_ari, ds.seed_values(e.key, "leiden_ari"), name + " " + e.key + " Leiden ARI");
  }
}

TEST(ScibReference, PbmcClusteringWithinSeedRange) { expect_clustering_in_seed_range("pbmc"); }
TEST(ScibReference, CellbenchClusteringWithinSeedRange) { expect_clustering_in_seed_range("cellbench"); }

// Metrics outside the default table: silhouette batch (Euclidean, nearest cluster) and the unscaled LISI.
TEST(ScibReference, SilhouetteBatchAndUnscaledLisi) {
  auto b = cpu();
  for (const std::string name : {"pbmc", "cellbench"}) {
    const ScibDataset ds(name);
    const int32_t L = int32_t(ds.data.label_names.size()), B = int32_t(ds.data.batch_names.size());
    for (const workflow::Embedding& e : ds.embeddings) {
      const double sb = workflow::silhouette_batch_score(*b, e.x.data(), ds.data.n, e.d, ds.data.labels, L, ds.data.batches,
                                                         PairDistance::Euclidean, workflow::BetweenClusters::Nearest);
      const auto seeds = json_object(json_object(ds.json, "seed_ranges"), e.key);
      EXPECT_NEAR(sb, json_number(seeds, "silhouette_batch"), kMetricTolerance) << name << " " << e.key;
      const workflow::NeighborGraph g = workflow::nearest_neighbors(*b, e.x.data(), ds.data.n, e.d, 90);
      EXPECT_NEAR(workflow::nan_median(workflow::lisi_per_cell(g, ds.data.batches, B)),
                  json_number(seeds, "ilisi_unscaled_median"), kMetricTolerance) << name << " " << e.key;
      EXPECT_NEAR(workflow::nan_median(workflow::lisi_per_cell(g, ds.data.labels, L)),
                  json_number(seeds, "clisi_unscaled_median"), kMetricTolerance) << name << " " << e.key;
    }
  }
}

// The aggregates from the reference's own metric values reproduce its Batch / Bio / Total exactly.
TEST(ScibReference, AggregatesFollowGetResults) {
  for (const std::string name : {"pbmc", "cellbench"}) {
    const ScibDataset ds(name);
    const workflow::BenchmarkTable& ours = table_of(name);
    workflow::BenchmarkTable t;
    t.metrics = ours.metrics;
    t.metric_types = ours.metric_types;
    t.embeddings = ours.embeddings;
    for (const std::string& emb : t.embeddings) {
      t.values.emplace_back();
      for (const std::string& m : t.metrics) t.values.back().push_back(ds.reference("exact", emb, m));
    }
    workflow::aggregate_scores(&t);
    for (size_t e = 0; e < t.embeddings.size(); ++e) {
      EXPECT_NEAR(t.aggregates[e][0], ds.reference("exact", t.embeddings[e], "Batch correction"), 1e-12);
      EXPECT_NEAR(t.aggregates[e][1], ds.reference("exact", t.embeddings[e], "Bio conservation"), 1e-12);
      EXPECT_NEAR(t.aggregates[e][2], ds.reference("exact", t.embeddings[e], "Total"), 1e-12);
    }
  }
}

// The CSV has get_results().to_csv()'s header, row order and Metric Type row.
TEST(ScibReference, ResultsCsvLayout) {
  for (const std::string name : {"pbmc", "cellbench"}) {
    const Csv ref = read_csv(scib_fixture(name + "_results.csv"));
    ASSERT_FALSE(ref.rows.empty()) << name;
    const std::string text = workflow::to_csv(workflow::results_table(table_of(name)));
    const std::string path = testing::TempDir() + "/cuvi_scib_" + name + ".csv";
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
    const Csv ours = read_csv(path);
    EXPECT_EQ(ours.header, ref.header) << name;
    ASSERT_EQ(ours.rows.size(), ref.rows.size()) << name;
    for (size_t r = 0; r < ref.rows.size(); ++r) EXPECT_EQ(ours.rows[r][0], ref.rows[r][0]) << name;
    EXPECT_EQ(ours.rows.back(), ref.rows.back()) << name << ": the Metric Type row";
  }
}

// Without a pre-integrated embedding the Benchmarker regresses on 50 ARPACK principal components of X; the
// reference did so on CellBench's counts after normalize_total(1e4) + log1p, which this test repeats.
TEST(ScibReference, PcaOfXRegression) {
  CUVI_DATA_FILE_OR_SKIP(path, "cellbench-mixology/cellbench_3cellline_celseq2_dropseq.h5ad");
  const ScibDataset ds("cellbench");
  const std::string ref = json_object(ds.json, "pca_of_X");
  ASSERT_FALSE(ref.empty());
  io::CsrMatrix x = io::AnnDataFile::open(path).read_matrix("");
  for (int64_t i = 0; i < x.n_rows; ++i) {
    float total = 0;
    for (int64_t p = x.indptr[size_t(i)]; p < x.indptr[size_t(i + 1)]; ++p) total += x.data[size_t(p)];
    for (int64_t p = x.indptr[size_t(i)]; p < x.indptr[size_t(i + 1)]; ++p)
      x.data[size_t(p)] = std::log1p(x.data[size_t(p)] / total * 1e4f);
  }
  int64_t k = 0;
  const std::vector<float> pcs = workflow::pca_coordinates(x, &k);
  EXPECT_EQ(k, int64_t(json_number(ref, "n_comps")));
  const double pcr = workflow::pcr_score(pcs.data(), x.n_rows, k, ds.data.batches, int32_t(ds.data.batch_names.size()));
  EXPECT_NEAR(pcr, json_number(ref, "pcr_batch"), kMetricTolerance);
}

TEST(ScibReference, NmiAriMatchScikitLearn) {
  const std::string cases = json_object(scib_reference_json(), "nmi_ari_cases");
  int n = 0;
  for (int i = 0;; ++i) {
    const std::string c = json_object(cases, "case" + std::to_string(i));
    if (c.empty()) break;
    const std::vector<double> a = json_numbers(c, "a"), b = json_numbers(c, "b");
    const std::vector<int32_t> ai(a.begin(), a.end()), bi(b.begin(), b.end());
    EXPECT_NEAR(workflow::nmi_score(ai, bi), json_number(c, "nmi"), 1e-12) << "case" << i;
    EXPECT_NEAR(workflow::ari_score(ai, bi), json_number(c, "ari"), 1e-12) << "case" << i;
    ++n;
  }
  EXPECT_GE(n, 6);
}

}  // namespace
}  // namespace cuvi::test
