// MULTIVI's side of the shared DE driver: two scale functions and their tasks.
#include "tools/workflow/multivi_de.h"

namespace cuvi::workflow {
namespace {

// get_normalized_expression (use_z_mean) or get_normalized_accessibility (use_z_mean=False) per cell.
class MultiviScales : public ScaleModel {
 public:
  MultiviScales(MultiviSession& s, bool accessibility) : m_session(s), m_acc(accessibility) {}
  InferenceSession& session() override { return m_session; }
  int64_t n_features() const override {
    const models::MultiviConfig& c = m_session.model().config();
    return m_acc ? c.n_regions : c.n_genes;
  }
  TensorId scale(Tape& tape, const MiniBatch& mb, int64_t transform_batch) override {
    const models::MultiviModel& model = m_session.model();
    models::Graph g{tape, model.params(), false, nullptr};
    models::MultiviForwardOptions fo;
    fo.compute_loss = false;
    fo.z_from_mean = !m_acc;
    // As scvi-tools: expression rewrites the minibatch's batch, accessibility only the decoder's.
    const models::MultiviOutputs o = model.module().forward(g, model.inputs(tape, mb, transform_batch, !m_acc), fo);
    return m_acc ? o.p : o.px_scale;
  }

 private:
  MultiviSession& m_session;
  bool m_acc;
};

DeTask task_of(MultiviInference& inf, ScaleModel& scales, bool accessibility) {
  const models::MultiviConfig& c = inf.model->config();
  DeTask t;
  t.model = &scales;
  t.data = &inf.data;
  t.n_batch = c.n_batch;
  if (accessibility) {
    t.scheme = DrawScheme::CellsSampled;
    t.cols = ColumnRange{c.n_genes, c.n_genes + c.n_regions};
    t.features = inf.data.registry.regions;
    t.stats = RawStatsKind::Accessibility;
  } else {
    t.scheme = DrawScheme::CellsDeterministic;
    t.cols = ColumnRange{0, c.n_genes};
    t.features = inf.data.registry.genes;
    t.stats = RawStatsKind::Expression;
  }
  return t;
}

}  // namespace

DeOptions multivi_de_defaults() {
  DeOptions o;
  o.mode = "change";
  o.delta = 0.25;
  o.pseudocounts = 1e-6;
  return o;
}

DeOptions multivi_da_defaults() {
  DeOptions o = multivi_de_defaults();
  o.delta = 0.05;
  return o;
}

DeResult multivi_differential_expression(MultiviInference& inf, const DeOptions& opt) {
  MultiviScales scales(*inf.session, false);
  DeTask t = task_of(inf, scales, false);
  return run_differential(t, opt);
}

DeResult multivi_differential_accessibility(MultiviInference& inf, const DeOptions& opt, ResultTable* table) {
  CUVI_CHECK(opt.group1.size() == 1,
             "differential accessibility compares one --group1 with --group2 or the rest (scvi-tools' table is "
             "indexed by region, one comparison per call)");
  MultiviScales scales(*inf.session, true);
  DeTask t = task_of(inf, scales, true);
  DeResult r = run_differential(t, opt);
  *table = accessibility_table(r, opt, inf.data.registry.regions);
  return r;
}

}  // namespace cuvi::workflow
