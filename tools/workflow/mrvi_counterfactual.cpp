// Counterfactual passes: qu on the minibatch, rows (draw, sample, cell) gathered from it with embedding
// lookups (sample codes for qz), u drawn per row when sampling, results downloaded per pass.
#include "tools/workflow/mrvi_counterfactual.h"

#include <algorithm>

namespace cuvi::workflow {
namespace {

// A device i32 vector in the tape's arena.
TensorId codes_input(Tape& tape, const std::vector<int32_t>& host) {
  Tensor t = tape.arena().tensor(DType::I32, Shape{int64_t(host.size())});
  tape.backend().upload(t.data, host.data(), host.size() * sizeof(int32_t));
  return tape.input(t);
}

}  // namespace

namespace {

// Floats one eval-mode attention block keeps per row: tokens, Q/K/V, probabilities, context, output,
// and the MLPs' 128-wide hidden layers (ten tensors per ResNet block, two MLPs).
int64_t attention_floats(const models::MrviAttentionOptions& a, int64_t query_dim, int64_t out_dim) {
  const int64_t T = a.n_latent_sample, HD = a.n_heads * a.n_channels;
  return 4 * T + T * 3 * HD + a.n_heads * T * T + T * HD + T * a.n_channels + int64_t(a.n_layers) * 2 * 10 * 128 +
         2 * (query_dim + T) + 2 * out_dim;
}

}  // namespace

size_t counterfactual_pass_bytes(const models::MrviConfig& c, int64_t rows) {
  // The larger of a qz pass (counterfactual z or eps) and a decoder pass of the LFCs (two decodes of
  // G-wide logits and softmax, with their attention blocks), per row, doubled for alignment slack.
  const int64_t qz = 8 * c.n_latent_u + 8 * c.n_latent + attention_floats(c.qz, c.n_latent_u, 2 * c.n_latent);
  const int64_t px = 10 * c.n_latent + 2 * (4 * c.n_genes + c.n_latent +
                                            (c.n_batch >= 2 ? attention_floats(c.px, c.n_latent, c.n_genes) : 0));
  return size_t(rows) * size_t(std::max(qz, px) + 64) * sizeof(float) * 2 + (size_t(64) << 10);
}

int64_t counterfactual_latents(MrviSession& session, Tape& tape, const MiniBatch& mb, const CounterfactualOptions& opt,
                               int64_t step, std::vector<float>* out) {
  models::MrviModel& model = session.model();
  const models::MrviModule& mod = model.module();
  const models::MrviConfig& c = model.config();
  const int64_t B = mb.n, L = c.n_latent, M = opt.use_mean ? 1 : std::max<int64_t>(1, opt.mc_samples);
  std::vector<int32_t> samples = opt.samples;
  if (samples.empty() && !opt.own_sample)
    for (int64_t s = 0; s < c.n_sample; ++s) samples.push_back(int32_t(s));
  const int64_t S = opt.own_sample ? 1 : int64_t(samples.size());
  out->assign(size_t(M * B * S * L), 0.f);
  std::vector<int32_t> own;
  if (opt.own_sample) {
    own.resize(size_t(B));
    session.backend().download(own.data(), mb.codes.data, size_t(B) * sizeof(int32_t));
  }
  Backend& backend = session.backend();
  models::Graph g{tape, model.params(), false, nullptr};
  const models::MrviInputs in = model.inputs(tape, mb);
  set_philox_step(backend, step++);
  const models::MrviModule::QuOut qu = mod.encode_u(g, in.x, in.sample);
  const int64_t rows_per_unit = B;  // one (draw, sample) unit = B rows
  const int64_t units_per_pass = std::max<int64_t>(1, opt.max_rows / std::max<int64_t>(1, rows_per_unit));
  const int64_t n_units = M * S;
  const size_t mark = tape.arena().used();
  std::vector<float> host;
  for (int64_t u0 = 0; u0 < n_units; u0 += units_per_pass) {
    const int64_t u1 = std::min(n_units, u0 + units_per_pass), R = (u1 - u0) * B;
    std::vector<int32_t> cell(static_cast<size_t>(R)), cf(static_cast<size_t>(R));
    for (int64_t k = u0; k < u1; ++k)
      for (int64_t b = 0; b < B; ++b) {
        const size_t r = size_t((k - u0) * B + b);
        cell[r] = int32_t(b);
        cf[r] = opt.own_sample ? own[size_t(b)] : samples[size_t(k % S)];
      }
    set_philox_step(backend, step++);
    const TensorId cell_id = codes_input(tape, cell), cf_id = codes_input(tape, cf);
    TensorId u = g.apply("embedding", {qu.mean, cell_id});
    if (!opt.use_mean) {
      const TensorId scale = g.apply("embedding", {qu.scale, cell_id});
      u = g.apply("add", {u, g.apply("mul", {models::normal_noise(g, "qu", u), scale})});
    }
    const models::MrviModule::QzOut qz = mod.encode_z(g, u, cf_id, opt.use_mean);
    const TensorId res = opt.want_eps ? qz.eps : g.apply("add", {qz.z_base, qz.eps});
    const Tensor& t = tape.value(res);
    host.resize(size_t(t.numel()));
    backend.download(host.data(), t.data, t.nbytes());
    for (int64_t k = u0; k < u1; ++k) {
      const int64_t m = k / S, j = k % S;
      for (int64_t b = 0; b < B; ++b)
        std::copy_n(host.data() + ((k - u0) * B + b) * L, L, out->data() + ((m * B + b) * S + j) * L);
    }
    tape.arena().rewind(mark);
  }
  return step;
}

}  // namespace cuvi::workflow
