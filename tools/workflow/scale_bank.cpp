// ScaleBank: scvi's posterior scale draws per group (scvi-multivi.md §3.2, §2.7) and their evaluation
// in eval mode through the model's scale function, one decoder transform batch per pass.
#include "tools/workflow/scale_bank.h"

#include <algorithm>
#include <map>

#include "kernels/common/philox.h"

namespace cuvi::workflow {
namespace {

constexpr uint32_t kPickStream = 0x44455000u;  // Philox stream of the pick draws ("DEP")
constexpr int64_t kDeSteps = 0xB0000000ll;      // Philox steps of the DE forward passes

// Uniform integer in [0, m) from 64 Philox bits (bias below m / 2^64).
int64_t uniform_index(uint64_t seed, uint32_t step, uint32_t stream, uint64_t i, int64_t m) {
  const uint64_t hi = philox_u32(seed, step, stream, 2 * i), lo = philox_u32(seed, step, stream, 2 * i + 1);
  return int64_t(((hi << 32) | lo) % uint64_t(m));
}

}  // namespace

int64_t ScaleBank::slot_of(const Key& key) {
  auto it = m_slot_of.find(key);
  if (it == m_slot_of.end()) {
    it = m_slot_of.emplace(key, int64_t(m_keys.size())).first;
    m_keys.push_back(key);
  }
  return it->second;
}

std::vector<int64_t> ScaleBank::draw(DrawScheme scheme, const std::vector<int32_t>& cells,
                                     const std::vector<int64_t>& transform_batches, int64_t n_samples_overall,
                                     uint64_t seed, uint32_t draw_id) {
  CUVI_CHECK(!cells.empty(), "a DE group has no cells");
  CUVI_CHECK(!transform_batches.empty(), "DE needs at least one transform batch");
  CUVI_CHECK(n_samples_overall >= 1, "--n-samples-overall must be at least 1");
  int64_t n = n_samples_overall / int64_t(transform_batches.size());
  if (n == 0) n = 2;
  const int64_t n_cells = int64_t(cells.size());
  const int64_t k = scheme == DrawScheme::PosteriorPairs ? n / n_cells + 1 : 1;
  const int64_t pairs = k * n_cells;
  std::vector<int64_t> slots;
  slots.reserve(size_t(n) * transform_batches.size());
  for (size_t t = 0; t < transform_batches.size(); ++t) {
    for (int64_t i = 0; i < n; ++i) {
      // Flattened (k, n_cells) index j: sample j / n_cells of cell j % n_cells.
      const int64_t j = uniform_index(seed, draw_id, kPickStream + uint32_t(t), uint64_t(i), pairs);
      int64_t sample = j / n_cells;
      if (scheme == DrawScheme::CellsSampled) sample = (int64_t(draw_id) << 32) | (int64_t(t) << 24) | i;
      slots.push_back(slot_of(Key{cells[size_t(j % n_cells)], int32_t(transform_batches[t]), sample}));
    }
  }
  return slots;
}

void ScaleBank::evaluate(ScaleModel& model, int64_t batch_size) {
  const int64_t total = n_slots();
  if (m_evaluated == total) return;
  CUVI_CHECK(model.n_features() == m_F, "scale bank and model disagree on the number of features");
  m_scales.resize(size_t(total) * size_t(m_F));
  // New slots grouped by transform batch (one decoder batch per pass), cells in order.
  std::map<int32_t, std::vector<int64_t>> by_batch;
  for (int64_t s = m_evaluated; s < total; ++s) by_batch[m_keys[size_t(s)].batch].push_back(s);
  InferenceSession& session = model.session();
  for (auto& [tb, slots] : by_batch) {
    std::stable_sort(slots.begin(), slots.end(),
                     [&](int64_t a, int64_t b) { return m_keys[size_t(a)].cell < m_keys[size_t(b)].cell; });
    std::vector<int32_t> rows(slots.size());
    for (size_t i = 0; i < slots.size(); ++i) rows[i] = m_keys[size_t(slots[i])].cell;
    std::vector<float> host;
    m_batches_run += for_each_row_batch(
        session, rows, batch_size, kDeSteps + m_batches_run, [&](Tape& tape, const MiniBatch& mb, int64_t first) {
          const Tensor& t = tape.value(model.scale(tape, mb, tb));
          host.resize(size_t(t.numel()));
          session.backend().download(host.data(), t.data, t.nbytes());
          for (int64_t i = 0; i < mb.n; ++i)
            std::copy(host.begin() + i * m_F, host.begin() + (i + 1) * m_F,
                      m_scales.begin() + slots[size_t(first + i)] * m_F);
        });
  }
  m_evaluated = total;
}

}  // namespace cuvi::workflow
