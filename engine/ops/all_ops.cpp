// The list of op families: every op the models use is registered here, so the tests and the
// benches that walk the registry cannot miss one.
#include "engine/registry.h"

namespace cuvi {
namespace ops {
void register_linear_ops(Registry& r);
void register_unary_ops(Registry& r);
void register_elementwise_ops(Registry& r);
void register_reduce_ops(Registry& r);
void register_norm_ops(Registry& r);
void register_embedding_ops(Registry& r);
void register_likelihood_ops(Registry& r);
void register_px_likelihood_ops(Registry& r);
void register_elbo_ops(Registry& r);
void register_sampling_ops(Registry& r);
void register_attention_ops(Registry& r);
void register_optimizer_ops(Registry& r);
void register_loader_ops(Registry& r);
void register_metric_ops(Registry& r);
void register_multimodal_ops(Registry& r);
void register_fc_layer_ops(Registry& r);
void register_latent_ops(Registry& r);
}  // namespace ops

void register_all_ops(Registry& r) {
  ops::register_linear_ops(r);
  ops::register_unary_ops(r);
  ops::register_elementwise_ops(r);
  ops::register_reduce_ops(r);
  ops::register_norm_ops(r);
  ops::register_embedding_ops(r);
  ops::register_likelihood_ops(r);
  ops::register_px_likelihood_ops(r);
  ops::register_elbo_ops(r);
  ops::register_sampling_ops(r);
  ops::register_attention_ops(r);
  ops::register_optimizer_ops(r);
  ops::register_loader_ops(r);
  ops::register_metric_ops(r);
  ops::register_multimodal_ops(r);
  ops::register_fc_layer_ops(r);
  ops::register_latent_ops(r);
}

}  // namespace cuvi
