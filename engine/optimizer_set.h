// The optimizers of one training step: the main one over every parameter, plus groups of parameters
// with optimizers of their own (scvi-tools' adversarial classifier, scvi-multivi.md §2.5). Each steps
// the parameters of its group that received a gradient; the shared step counter advances once.
#pragma once
#include <memory>
#include <vector>

#include "engine/optimizer.h"

namespace cuvi {

struct ParamGroup {
  std::vector<int> params;
  AdamConfig config;
};

class OptimizerSet {
 public:
  OptimizerSet(Backend& backend, ParamStore& params, const AdamConfig& main, const std::vector<ParamGroup>& groups);
  // Whether stepping these parameters keeps every optimizer's segment table (no upload).
  bool uses(const std::vector<int>& params_with_grad) const;
  // Splits the parameters by optimizer, updates each, advances the step counter once.
  void step(const std::vector<int>& params_with_grad);
  uint64_t table_version() const;  // changes whenever any optimizer's segment table does
  Adam& main() { return *m_opts[0]; }

 private:
  std::vector<std::vector<int>> split(const std::vector<int>& params_with_grad) const;
  std::vector<std::unique_ptr<Adam>> m_opts;
  std::vector<int> m_group_of;  // optimizer index of each parameter entry
};

}  // namespace cuvi
