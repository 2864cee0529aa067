// SCVI's side of the shared DE driver: its scale function and task.
#include "tools/workflow/scvi_de.h"

namespace cuvi::workflow {

TensorId ScviScales::scale(Tape& tape, const MiniBatch& mb, int64_t transform_batch) {
  const models::ScviModel& model = m_session.model();
  models::Graph g{tape, model.params(), false, nullptr};
  models::ScviForwardOptions fo;
  fo.compute_loss = false;
  return model.module().forward(g, model.inputs(tape, mb, transform_batch), fo).px_scale;
}

DeResult differential_expression(ScviInference& inf, const DeOptions& opt) {
  ScviScales scales(*inf.session);
  DeTask task;
  task.model = &scales;
  task.scheme = DrawScheme::PosteriorPairs;
  task.data = &inf.data;
  task.features = inf.data.registry.genes;
  task.n_batch = inf.model->config().n_batch;
  task.stats = RawStatsKind::Expression;
  return run_differential(task, opt);
}

}  // namespace cuvi::workflow
