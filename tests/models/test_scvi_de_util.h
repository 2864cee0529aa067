// Shared by the DE / model-fit tests: the tests/fixtures/de files (pandas CSV tables, a flat JSON
// of scvi-tools values), opening the exported model on the CPU backend, and table lookups.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/json_lite.h"
#include "tools/workflow/scvi_inference.h"

namespace cuvi::test {

inline std::string de_fixture(const std::string& file) {
  const char* env = std::getenv("CUVI_SOURCE_DIR");
  return std::string(env ? env : CUVI_SOURCE_DIR) + "/tests/fixtures/de/" + file;
}

inline bool have_de_fixture() {
  for (const char* f : {"model.cuvi", "data.h5ad", "de_change_cell_type.csv", "de_vanilla_condition.csv", "fit.json"})
    if (!std::filesystem::exists(de_fixture(f))) return false;
  return true;
}

#define CUVI_REQUIRE_DE_FIXTURE() \
  if (!::cuvi::test::have_de_fixture()) GTEST_SKIP() << "tests/fixtures/de is missing (tools/fixtures/gen_scvi_de_fixture.py)"

// A CSV as pandas writes it: the header row, then rows; fields may be double-quoted.
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int col(const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return int(i);
    ADD_FAILURE() << "CSV has no column " << name;
    return 0;
  }
};

inline std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string f;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        f += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        f += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(f);
      f.clear();
    } else {
      f += c;
    }
  }
  out.push_back(f);
  return out;
}

inline Csv parse_csv(const std::string& text) {
  Csv c;
  std::istringstream s(text);
  std::string line;
  bool first = true;
  while (std::getline(s, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (first) {
      c.header = split_csv_line(line);
      first = false;
    } else {
      c.rows.push_back(split_csv_line(line));
    }
  }
  return c;
}

inline Csv read_csv(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_csv(ss.str());
}

// The exported scvi-tools model with the fixture data, on a CPU backend.
struct DeFixture {
  std::unique_ptr<Backend> backend;
  workflow::ScviInference inf;
  explicit DeFixture(uint64_t seed = 0, int64_t batch_size = 128) {
    backend = make_cpu_backend(seed, 1);
    inf = workflow::open_scvi_inference(de_fixture("model.cuvi"), de_fixture("data.h5ad"), *backend, seed, batch_size);
  }
};

}  // namespace cuvi::test
