// The MRVI analysis parity fixture (tools/fixtures/gen_mrvi_analysis_fixture.py): an scvi-tools MRVI
// exported to cuvi, its cohort, and scvi-tools' analysis results on it; helpers to open them on the CPU.
#pragma once
#include <sstream>
#include <string>
#include <vector>

#include "tests/models/fixture_reader.h"
#include "tools/workflow/mrvi_session.h"

namespace cuvi::test {

inline std::string analysis_fixture(const std::string& name) { return fixture_dir("mrvi_analysis") + "/" + name; }

inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

struct AnalysisFixture {
  std::unique_ptr<Backend> backend = make_cpu_backend(0);
  workflow::MrviInference inf;
  io::Node ref;
  explicit AnalysisFixture(int64_t batch_size = 64, int64_t counterfactual_rows = 4096)
      : inf(workflow::open_mrvi_inference(analysis_fixture("model.cuvi"), analysis_fixture("data.h5ad"), *backend, 0,
                                          batch_size, {}, false, counterfactual_rows)),
        ref(io::Node::root(io::H5File::open_read(analysis_fixture("reference.h5")))) {}
  HostArray array(const std::string& path) const { return read_array(ref.open(path)); }
  std::vector<std::string> names(const std::string& group, const std::string& key) const {
    return split_lines(ref.open(group).attr_string(key + ".names").value_or(""));
  }
};

}  // namespace cuvi::test
