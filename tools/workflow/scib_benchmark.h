// scib-metrics' Benchmarker (0.6 defaults) over the embeddings of one data set: one exact 90-neighbour search
// per embedding shared by every graph metric (subsets of 15 and 50 neighbours, as the Benchmarker), the
// results table of get_results() and its aggregate scores (mean per metric type, Total = 0.4 batch + 0.6 bio).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "tools/workflow/result_table.h"

namespace cuvi::workflow {

// Which metrics run: the Benchmarker's BioConservation() and BatchCorrection() defaults.
struct BenchmarkMetrics {
  bool isolated_labels = true, leiden_nmi_ari = false, kmeans_nmi_ari = true, silhouette_label = true, clisi = true;
  bool bras = true, ilisi = true, kbet = true, graph_connectivity = true, pcr_comparison = true;
  uint64_t kmeans_seed = 0;   // scib-metrics' KMeans seed
  uint64_t leiden_seed = 42;  // scib-metrics' nmi_ari_cluster_labels_leiden seed
};

struct BenchmarkData {
  int64_t n = 0;
  std::vector<int32_t> labels, batches;           // codes 0..L-1 / 0..B-1 over the groups present
  std::vector<std::string> label_names, batch_names;  // per code
  std::vector<float> pre_integrated;               // (n, pre_d): the embedding PCR comparison starts from
  int64_t pre_d = 0;
};

struct Embedding {
  std::string key;
  std::vector<float> x;  // (n, d)
  int64_t d = 0;
};

struct BenchmarkTable {
  std::vector<std::string> metrics;       // column names as get_results(): "Isolated labels", "KMeans NMI", ...
  std::vector<std::string> metric_types;  // "Bio conservation" | "Batch correction", per column
  std::vector<std::string> embeddings;
  std::vector<std::vector<double>> values;  // [embedding][metric]
  std::vector<std::array<double, 3>> aggregates;  // [embedding]: Batch correction, Bio conservation, Total
  std::vector<double> seconds;                    // [embedding]: wall time of its metrics
  std::vector<std::vector<double>> metric_seconds;  // [embedding][metric]: wall time of each (neighbours apart)
  std::vector<double> neighbor_seconds;             // [embedding]: the 90-neighbour search
};

BenchmarkTable run_benchmark(Backend& backend, const BenchmarkData& data, const std::vector<Embedding>& embeddings,
                             const BenchmarkMetrics& which = {});

// Mean of each type's metrics (NaN skipped, as pandas), Total = 0.4 batch + 0.6 bio; fills table->aggregates.
void aggregate_scores(BenchmarkTable* table);

// get_results() as a table (write_csv gives its to_csv): index "Embedding", columns <metrics>, Batch
// correction, Bio conservation, Total; a row per embedding, then the "Metric Type" row.
ResultTable results_table(const BenchmarkTable& table);

}  // namespace cuvi::workflow
