// Posterior scale samples for differential expression (scvi-multivi.md §3.2): scvi's draw of
// (cell, posterior sample) pairs per group, with px_scale evaluated once per distinct pair and
// shared by every comparison that drew it.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "tools/workflow/scvi_tasks.h"

namespace cuvi::workflow {

// scvi's scale_sampler for one group of cells, restated: for each transform batch t (-1 = the
// observed batch), n = int(n_samples_overall / |batches|) (2 if that is 0), k = n // n_cells + 1
// posterior z per cell, and n picks uniform with replacement over the k * n_cells (sample, cell)
// pairs. A pair is identified by (cell, sample index, t); its px_scale is computed once.
class ScaleBank {
 public:
  explicit ScaleBank(int64_t n_genes) : m_G(n_genes) {}

  // Draws one group's picks (Philox, addressed by seed and draw_id) and returns their slots in
  // scvi's order: the n picks of the first transform batch, then the next batch's, and so on.
  std::vector<int64_t> draw(const std::vector<int32_t>& cells, const std::vector<int64_t>& transform_batches,
                            int64_t n_samples_overall, uint64_t seed, uint32_t draw_id);
  // px_scale of every slot drawn so far (slots already evaluated are kept), one forward pass per
  // distinct pair through the device loader; noise from the backend seed.
  void evaluate(ScviSession& session, int64_t batch_size);

  const float* row(int64_t slot) const { return m_scales.data() + slot * m_G; }  // (G)
  int64_t n_slots() const { return int64_t(m_keys.size()); }
  int64_t n_genes() const { return m_G; }
  int32_t transform_batch(int64_t slot) const { return m_keys[size_t(slot)].batch; }

 private:
  struct Key {
    int32_t cell, batch;
    int64_t sample;
    bool operator==(const Key& o) const { return cell == o.cell && batch == o.batch && sample == o.sample; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      uint64_t h = uint64_t(uint32_t(k.cell)) * 0x9E3779B97F4A7C15ull;
      h ^= (uint64_t(k.sample) + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2));
      h ^= (uint64_t(uint32_t(k.batch)) + 0x94D049BB133111EBull + (h << 6) + (h >> 2));
      return size_t(h);
    }
  };
  int64_t m_G;
  std::vector<Key> m_keys;
  std::unordered_map<Key, int64_t, KeyHash> m_slot_of;
  std::vector<float> m_scales;  // (evaluated slots, G)
  int64_t m_evaluated = 0;
  int64_t m_batches_run = 0;    // minibatches so far: the next pass's Philox step offset
};

}  // namespace cuvi::workflow
