// Posterior scale samples of the shared differential-analysis layer (scvi-multivi.md §3.2, §2.7): the
// per-model scale function, scvi-tools' two ways of drawing a group's samples, and a bank that
// evaluates each distinct (cell, sample, transform batch) once for every comparison that drew it.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "tools/workflow/session.h"

namespace cuvi::workflow {

// What a model contributes to DE/DA: the scale of each cell of a minibatch, e.g. SCVI's px_scale
// from a sampled z, MULTIVI's px_scale at the posterior mean or its accessibility p from a sampled z.
class ScaleModel {
 public:
  virtual ~ScaleModel() = default;
  virtual InferenceSession& session() = 0;
  virtual int64_t n_features() const = 0;
  // Records the forward pass of minibatch `mb` (eval mode) and returns its (N, F) scales;
  // transform_batch >= 0 replaces the batch the decoder sees.
  virtual TensorId scale(Tape& tape, const MiniBatch& mb, int64_t transform_batch) = 0;
};

// How a group's n samples per transform batch are drawn (n = int(n_samples_overall / |batches|), 2 if 0).
enum class DrawScheme {
  // scvi's scale_sampler through get_normalized_expression(n_samples_overall): k = n // n_cells + 1
  // posterior z per cell and n picks uniform with replacement over the k * n_cells (sample, cell) pairs.
  PosteriorPairs,
  // MULTIVI's model functions: np.random.choice(cells, n) (with replacement), one forward pass per
  // pick. Deterministic scales (z at the posterior mean) share one slot per cell; sampled ones
  // (z drawn per pick) get a slot per pick.
  CellsDeterministic,
  CellsSampled,
};

// A pair is identified by (cell, sample index, t); its scale is computed once.
class ScaleBank {
 public:
  explicit ScaleBank(int64_t n_features) : m_F(n_features) {}

  // Draws one group's picks (Philox, addressed by seed and draw_id) and returns their slots in
  // scvi's order: the n picks of the first transform batch (-1 = the observed batch), then the next.
  std::vector<int64_t> draw(DrawScheme scheme, const std::vector<int32_t>& cells,
                            const std::vector<int64_t>& transform_batches, int64_t n_samples_overall, uint64_t seed,
                            uint32_t draw_id);
  // Scales of every slot drawn so far (slots already evaluated are kept), one forward pass per
  // distinct slot through the device loader; noise from the backend seed.
  void evaluate(ScaleModel& model, int64_t batch_size);

  const float* row(int64_t slot) const { return m_scales.data() + slot * m_F; }  // (F)
  int64_t n_slots() const { return int64_t(m_keys.size()); }
  int64_t n_features() const { return m_F; }
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
  int64_t slot_of(const Key& key);
  int64_t m_F;
  std::vector<Key> m_keys;
  std::unordered_map<Key, int64_t, KeyHash> m_slot_of;
  std::vector<float> m_scales;  // (evaluated slots, F)
  int64_t m_evaluated = 0;
  int64_t m_batches_run = 0;    // minibatches so far: the next pass's Philox step offset
};

}  // namespace cuvi::workflow
