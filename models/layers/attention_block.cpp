// AttentionBlock forward (spec/mrvi.md §1 steps 1-5): tokens, attention with dropout on its weights,
// flatten, MLP to T features, residual MLP on [query, features].
#include "models/layers/attention_block.h"

namespace cuvi::models {

void AttentionBlock::declare(ParamStore& ps, const std::string& prefix, const AttentionSpec& s) {
  CUVI_CHECK(s.query_dim > 0 && s.kv_dim > 0 && s.out_dim > 0 && s.outerprod_dim > 0 && s.n_channels > 0 &&
                 s.n_heads > 0 && s.n_hidden_mlp > 0 && s.n_layers_mlp > 0,
             "attention block " + prefix + ": every width must be positive");
  m_spec = s;
  m_prefix = prefix;
  const int64_t T = s.outerprod_dim, C = s.n_channels, HD = s.n_heads * s.n_channels;
  m_query_proj.declare(ps, prefix + ".query_proj", s.query_dim, T, false);
  m_kv_proj.declare(ps, prefix + ".kv_proj", s.kv_dim, T, false);
  // torch Linear(1, HD) weights (HD, 1) hold the same numbers as the op's (1, HD) kernels.
  auto qkv = [&](const char* name, int* w, int* b) {
    *w = ps.add(prefix + "." + name + ".kernel", Shape{1, HD}, Init::torch_linear(1));
    *b = ps.add(prefix + "." + name + ".bias", Shape{HD}, Init::torch_linear(1));
  };
  qkv("q_proj", &m_wq, &m_bq);
  qkv("k_proj", &m_wk, &m_bk);
  qkv("v_proj", &m_wv, &m_bv);
  // torch out_proj.weight (C, HD) transposed.
  m_wo = ps.add(prefix + ".out_proj.kernel", Shape{HD, C}, Init::torch_linear(HD));
  m_bo = ps.add(prefix + ".out_proj.bias", Shape{C}, Init::torch_linear(HD));
  m_mlp_eps.declare(ps, prefix + ".mlp_eps", T * C, T, s.n_hidden_mlp, s.n_layers_mlp, MrviAct::Gelu);
  m_mlp_residual.declare(ps, prefix + ".mlp_residual", s.query_dim + T, s.out_dim, s.n_hidden_mlp, s.n_layers_mlp,
                         MrviAct::Gelu);
}

TensorId AttentionBlock::forward(Graph& g, TensorId query, TensorId kv) const {
  const int64_t N = g.tape.value(query).dim(0), T = m_spec.outerprod_dim, C = m_spec.n_channels;
  const TensorId q_att = m_spec.stop_gradients_mlp ? g.tape.detach(query) : query;
  const TensorId q_tok = g.tape.reshape(m_query_proj.forward(g, q_att), Shape{N, T, 1});
  const TensorId kv_tok = g.tape.reshape(m_kv_proj.forward(g, kv), Shape{N, T, 1});
  TensorId keep = kNoTensor;
  if (g.training && m_spec.dropout_rate > 0) {
    // The mask only takes its shape from `like` (B, H, T, T).
    const Tensor like = g.tape.arena().tensor(g.tape.value(query).dtype, Shape{N, m_spec.n_heads, T, T});
    keep = dropout_mask(g, m_prefix, g.tape.input(like), m_spec.dropout_rate);
  }
  const TensorId att = g.apply("mha", {q_tok, kv_tok, g.p(m_wq), g.p(m_bq), g.p(m_wk), g.p(m_bk), g.p(m_wv),
                                       g.p(m_bv), g.p(m_wo), g.p(m_bo), keep},
                               params_i({m_spec.n_heads}));
  const TensorId e = m_mlp_eps.forward(g, g.tape.reshape(att, Shape{N, T * C}));
  return m_mlp_residual.forward(g, g.apply("concat_cols", {query, e}));
}

}  // namespace cuvi::models
