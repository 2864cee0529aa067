// OptimizerSet: parameter ownership by optimizer and the per-step update order (main first).
#include "engine/optimizer_set.h"

namespace cuvi {

OptimizerSet::OptimizerSet(Backend& backend, ParamStore& params, const AdamConfig& main,
                           const std::vector<ParamGroup>& groups) {
  m_opts.push_back(std::make_unique<Adam>(backend, params, main));
  m_group_of.assign(params.entries().size(), 0);
  for (const ParamGroup& g : groups) {
    for (int id : g.params) {
      CUVI_CHECK(id >= 0 && size_t(id) < m_group_of.size() && m_group_of[size_t(id)] == 0,
                 "optimizer groups: parameter " + std::to_string(id) + " is out of range or in two groups");
      m_group_of[size_t(id)] = int(m_opts.size());
    }
    m_opts.push_back(std::make_unique<Adam>(backend, params, g.config));
  }
}

std::vector<std::vector<int>> OptimizerSet::split(const std::vector<int>& params_with_grad) const {
  std::vector<std::vector<int>> used(m_opts.size());
  for (int id : params_with_grad) used[size_t(m_group_of.at(size_t(id)))].push_back(id);
  return used;
}

bool OptimizerSet::uses(const std::vector<int>& params_with_grad) const {
  const auto used = split(params_with_grad);
  for (size_t k = 0; k < m_opts.size(); ++k)
    if (!used[k].empty() && !m_opts[k]->uses(used[k])) return false;
  return true;
}

void OptimizerSet::step(const std::vector<int>& params_with_grad) {
  const auto used = split(params_with_grad);
  size_t last = 0;  // the last optimizer to step advances the shared step counter
  for (size_t k = 0; k < m_opts.size(); ++k)
    if (!used[k].empty()) last = k;
  for (size_t k = 0; k < m_opts.size(); ++k) {
    if (used[k].empty() && k != last) continue;
    m_opts[k]->set_used(used[k]);
    m_opts[k]->step(k == last);
  }
}

uint64_t OptimizerSet::table_version() const {
  uint64_t v = 0;
  for (const auto& o : m_opts) v += o->table_version();
  return v;
}

}  // namespace cuvi
