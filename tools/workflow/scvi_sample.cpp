// Posterior predictive draws on the device: an eval-mode forward with a sampled z, then one of the
// registry samplers (sample_zinb, sample_nb, sample_poisson) over (N, G); rows appended as CSR.
#include "tools/workflow/scvi_sample.h"

#include "tools/workflow/scvi_tasks.h"

namespace cuvi::workflow {
namespace {

constexpr int64_t kSampleSteps = 0xD0000000ll;  // Philox steps of the sampling passes
constexpr int64_t kCountStream = 0x50505300;    // Philox stream of the count draws ("PPS")

}  // namespace

std::vector<io::CsrMatrix> posterior_predictive_sample(ScviSession& session, const SampleOptions& opt) {
  CUVI_CHECK(opt.n_samples >= 1, "--n-samples must be at least 1");
  const models::ScviModel& model = session.model();
  const std::string& lik = model.config().gene_likelihood;
  Backend& backend = session.backend();
  const int64_t R = session.dataset().n_rows(), G = model.config().n_genes;
  std::vector<int32_t> rows(static_cast<size_t>(R));
  for (int64_t i = 0; i < R; ++i) rows[size_t(i)] = int32_t(i);
  backend.ctx().seed = opt.seed;
  std::vector<io::CsrMatrix> out(static_cast<size_t>(opt.n_samples));
  int64_t steps = kSampleSteps;
  std::vector<float> host;
  for (int64_t s = 0; s < opt.n_samples; ++s) {
    io::CsrMatrix& m = out[size_t(s)];
    m.n_rows = R;
    m.n_cols = G;
    m.indptr.assign(1, 0);
    steps += for_each_row_batch(session, rows, opt.batch_size, steps, [&](Tape& tape, const MiniBatch& mb, int64_t) {
      models::Graph g{tape, model.params(), false, nullptr};
      models::ScviForwardOptions fo;
      fo.compute_loss = false;
      const models::ScviOutputs o = model.module().forward(g, model.inputs(tape, mb), fo);
      OpParams p;
      p.i[0] = kCountStream;
      TensorId x;
      if (lik == "zinb")
        x = tape.apply1("sample_zinb", {o.px_rate, o.theta, o.px_dropout}, p);
      else if (lik == "nb")
        x = tape.apply1("sample_nb", {o.px_rate, o.theta}, p);
      else
        x = tape.apply1("sample_poisson", {o.px_rate}, p);
      const Tensor& t = tape.value(x);
      host.resize(size_t(t.numel()));
      backend.download(host.data(), t.data, t.nbytes());
      for (int64_t i = 0; i < mb.n; ++i) {
        for (int64_t gi = 0; gi < G; ++gi) {
          const float v = host[size_t(i * G + gi)];
          if (v != 0.f) {
            m.indices.push_back(int32_t(gi));
            m.data.push_back(v);
          }
        }
        m.indptr.push_back(int64_t(m.data.size()));
      }
    });
  }
  return out;
}

}  // namespace cuvi::workflow
