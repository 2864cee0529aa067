// MRVI's AttentionBlock (spec/mrvi.md §1): query and key/value embeddings projected to T scalar tokens,
// multi-head attention over the tokens (op "mha"), then two ResNet MLPs; torch parameter names, with
// the four attention projections stored in the op's (in, out) layout as "<p>.{q,k,v,out}_proj.kernel".
#pragma once
#include <string>

#include "models/layers/resnet_mlp.h"

namespace cuvi::models {

struct AttentionSpec {
  int64_t query_dim = 0, kv_dim = 0, out_dim = 0;
  int64_t outerprod_dim = 16;  // T tokens
  int64_t n_channels = 4;      // C, the head depth and the output width per token
  int64_t n_heads = 2;
  double dropout_rate = 0.03;  // on the attention weights, training only
  int64_t n_hidden_mlp = 32;
  int n_layers_mlp = 1;
  bool stop_gradients_mlp = true;  // the query reaches the attention path detached
};

class AttentionBlock {
 public:
  void declare(ParamStore& ps, const std::string& prefix, const AttentionSpec& spec);
  // query (N, query_dim), kv (N, kv_dim) -> residual (N, out_dim). Dropout site: the block's prefix.
  TensorId forward(Graph& g, TensorId query, TensorId kv) const;
  const AttentionSpec& spec() const { return m_spec; }

 private:
  AttentionSpec m_spec;
  std::string m_prefix;
  Dense m_query_proj, m_kv_proj;  // (T, query_dim), (T, kv_dim), no bias
  int m_wq = -1, m_bq = -1, m_wk = -1, m_bk = -1, m_wv = -1, m_bv = -1, m_wo = -1, m_bo = -1;
  Mlp m_mlp_eps, m_mlp_residual;
};

}  // namespace cuvi::models
