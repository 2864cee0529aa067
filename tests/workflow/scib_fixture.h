// The recorded scib-metrics references under tests/fixtures/scib (tools/fixtures/gen_scib_fixtures.py):
// a data set's embeddings, labels and batches as cuvi reads them, and the JSON of reference values.
#pragma once
#include <string>
#include <vector>

#include "io/anndata.h"
#include "tests/json_lite.h"
#include "tests/test_env.h"
#include "tools/workflow/label_codes.h"
#include "tools/workflow/scib_benchmark.h"

namespace cuvi::test {

inline std::string scib_fixture(const std::string& name) { return source_dir() + "/tests/fixtures/scib/" + name; }

inline const std::string& scib_reference_json() {
  static const std::string text = read_text(scib_fixture("scib_reference.json"));
  return text;
}

// One data set of the reference: its JSON object and the file's contents in the Benchmarker's terms.
struct ScibDataset {
  std::string json;  // the data set's object in scib_reference.json
  workflow::BenchmarkData data;
  std::vector<workflow::Embedding> embeddings;
  std::vector<std::string> embedding_keys;

  explicit ScibDataset(const std::string& name) {
    json = json_object(json_object(scib_reference_json(), "datasets"), name);
    const io::AnnDataFile f = io::AnnDataFile::open(scib_fixture(name + ".h5ad"));
    data.n = f.n_obs();
    data.labels = codes(f, string_of("labels_key"), &data.label_names);
    data.batches = codes(f, string_of("batch_key"), &data.batch_names);
    data.pre_integrated = f.read_obsm(string_of("pre_integrated"), &data.pre_d);
    for (const std::string key : {"X_pca10", "X_shift", "X_pca", "X_center"}) {
      if (json_object(json_object(json, "exact"), key).empty()) continue;
      workflow::Embedding e;
      e.key = key;
      e.x = f.read_obsm(key, &e.d);
      embeddings.push_back(e);
      embedding_keys.push_back(key);
    }
  }

  // The value of a string field of the data set's object ("labels_key": "cell_type").
  std::string string_of(const std::string& key) const {
    const size_t p = json.find("\"" + key + "\"");
    const size_t a = json.find('"', json.find(':', p) + 1), b = json.find('"', a + 1);
    return json.substr(a + 1, b - a - 1);
  }
  // Reference metric of an embedding: run = "exact" (exact neighbours) or "default_neighbors".
  double reference(const std::string& run, const std::string& embedding, const std::string& metric) const {
    return json_number(json_object(json_object(json, run), embedding), metric);
  }
  std::vector<double> seed_values(const std::string& embedding, const std::string& what) const {
    return json_numbers(json_object(json_object(json, "seed_ranges"), embedding), what);
  }

 private:
  static std::vector<int32_t> codes(const io::AnnDataFile& f, const std::string& key, std::vector<std::string>* names) {
    const io::Column& c = f.obs().require(key, f.path(), "obs");
    int32_t n = 0;
    const std::vector<int32_t> out = workflow::compact_codes(c.cat.codes, &n, key);
    names->assign(size_t(n), "");
    for (size_t i = 0; i < out.size(); ++i) (*names)[size_t(out[i])] = c.cat.categories[size_t(c.cat.codes[i])];
    return out;
  }
};

}  // namespace cuvi::test
