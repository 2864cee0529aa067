// MULTIVI inference parity with scvi-tools (scvi-multivi.md §2.7): a model trained by scvi-tools on
// tests/fixtures/multivi/data/unpaired.h5mu (tools/fixtures/gen_multivi_inference_fixture.py) loaded into
// cuvi gives its latents (joint and per modality), normalized expression (also with transform_batch),
// accessibility estimates (also normalized by cell and region factors), library and region factors for
// every cell, paired and unpaired; and DE / DA of batch b0 vs b1 estimate the same group scales.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/models/fixture_reader.h"
#include "tests/models/parity_compare.h"
#include "tools/workflow/multiome_data.h"
#include "tools/workflow/multivi_de.h"
#include "tools/workflow/multivi_session.h"
#include "tools/workflow/multivi_train.h"

namespace cuvi::test {
namespace {

struct InferenceRun {
  std::unique_ptr<Backend> backend = make_cpu_backend(0, 1);
  io::Node root;
  workflow::MultiviInference inf;  // data, model and session (no model file: the fixture's weights)

  InferenceRun() {
    root = io::Node::root(io::H5File::open_read(fixture_dir("multivi_inference") + "/inference.h5"));
    workflow::SetupKeys keys;
    keys.batch_key = "batch";
    keys.multiome.enabled = true;
    inf.data = workflow::prepare_multiome(fixture_dir("multivi/data") + "/unpaired.h5mu", keys);
    models::MultiviConfig c;
    c.n_hidden = root.attr_ints("n_hidden").at(0);
    c.n_latent = root.attr_ints("n_latent").at(0);
    c.n_batch = 2;
    inf.model = workflow::new_multivi_model(inf.data, c, *backend, 0);
    ParamStore& ps = inf.model->params();
    for (size_t id = 0; id < ps.entries().size(); ++id) {
      const std::string& name = ps.entry(int(id)).name;
      if (name.rfind("adversarial_classifier.", 0) == 0) continue;  // the training plan's, not the module's
      const auto node = root.open_if("weights/" + name);
      if (!node) ADD_FAILURE() << "fixture lacks weights/" << name;
      if (node) ps.set(int(id), read_array(*node).v);
    }
    inf.session = std::make_unique<workflow::MultiviSession>(*backend, *inf.model, inf.data, 128);
  }
  HostArray out(const std::string& name) const { return read_array(root.open("outputs/" + name)); }
};

TEST(MultiviInference, EveryCellsOutputsMatchScviTools) {
  InferenceRun r;
  const std::vector<std::string> obs = io::read_strings(r.root.open("obs_names"), int64_t(1) << 20);
  EXPECT_EQ(r.inf.data.data.obs.index, obs) << "cells in the global MuData order";
  workflow::MultiviSession& s = *r.inf.session;
  for (const char* mod : {"joint", "expression", "accessibility"})
    EXPECT_TRUE(close_to(s.latent(mod, true, 0), r.out(std::string("latent_") + mod), std::string("latent ") + mod));
  EXPECT_TRUE(close_to(s.normalized_expression({}, 0), r.out("normalized_expression"), "normalized expression"));
  workflow::MultiviExpressionOptions b1;
  b1.transform_batches = {1};
  EXPECT_TRUE(close_to(s.normalized_expression(b1, 0), r.out("normalized_expression_b1"), "transform_batch b1"));
  EXPECT_TRUE(close_to(s.accessibility({}, 0), r.out("accessibility"), "accessibility"));
  workflow::AccessibilityOptions norm;
  norm.normalize_cells = norm.normalize_regions = true;
  EXPECT_TRUE(close_to(s.accessibility(norm, 0), r.out("accessibility_normalized"), "normalized accessibility"));
  std::vector<float> le, la;
  s.library_size_factors(&le, &la);
  EXPECT_TRUE(close_to(le, r.out("library_expression"), "expression library"));
  EXPECT_TRUE(close_to(la, r.out("library_accessibility"), "accessibility factor d"));
  EXPECT_TRUE(close_to(s.region_factors(), r.out("region_factors"), "region factors"));
}

TEST(MultiviInference, DeAndDaEstimateScviToolsGroupScales) {
  InferenceRun r;
  workflow::DeOptions o = workflow::multivi_de_defaults();
  o.groupby = "batch";
  o.group1 = {"b0"};
  o.group2 = "b1";
  o.n_samples_overall = 20000;
  const workflow::DeResult de = workflow::multivi_differential_expression(r.inf, o);
  // Back to gene order (rows are sorted by proba_de).
  const workflow::ResultTable& t = de.table;
  const std::vector<std::string>& genes = r.inf.data.registry.genes;
  std::vector<float> s1(genes.size()), s2(genes.size()), m1(genes.size());
  for (int64_t i = 0; i < t.n_rows(); ++i) {
    const size_t g = size_t(std::find(genes.begin(), genes.end(), t.index[size_t(i)]) - genes.begin());
    s1[g] = float(t.at("scale1").num[size_t(i)]);
    s2[g] = float(t.at("scale2").num[size_t(i)]);
    m1[g] = float(t.at("raw_mean1").num[size_t(i)]);
  }
  // Both are means of 20000 picks of the group's cells' px_scale (deterministic per cell): Monte-Carlo
  // error about 1% of a scale; 5% relative bounds it.
  EXPECT_TRUE(close_to(s1, r.out("de_scale1").v, "DE scale1", 0.05, 0.01));
  EXPECT_TRUE(close_to(s2, r.out("de_scale2").v, "DE scale2", 0.05, 0.01));
  EXPECT_TRUE(close_to(m1, r.out("de_raw_mean1").v, "DE raw_mean1 (exact)", 1e-6, 0));

  workflow::DeOptions a = workflow::multivi_da_defaults();
  a.groupby = "batch";
  a.group1 = {"b0"};
  a.group2 = "b1";
  a.n_samples_overall = 20000;
  workflow::ResultTable da;
  workflow::multivi_differential_accessibility(r.inf, a, &da);
  std::vector<float> e1, e2, p1;
  for (double v : da.at("est_prob1").num) e1.push_back(float(v));
  for (double v : da.at("est_prob2").num) e2.push_back(float(v));
  for (double v : da.at("emp_prob1").num) p1.push_back(float(v));
  // Means of 20000 draws of p (cell picked, z sampled) in (0, 1): both within 0.01 of the expectation.
  EXPECT_TRUE(close_to(e1, r.out("da_est_prob1").v, "DA est_prob1", 0, 0, 0.02));
  EXPECT_TRUE(close_to(e2, r.out("da_est_prob2").v, "DA est_prob2", 0, 0, 0.02));
  EXPECT_TRUE(close_to(p1, r.out("da_emp_prob1").v, "DA emp_prob1 (exact)", 1e-6, 0));
}

}  // namespace
}  // namespace cuvi::test
