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

#include "tests/csv_lite.h"
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
