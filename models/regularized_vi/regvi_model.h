// RegviModel: a RegularizedVI module with its parameters, its per-cell purpose codes on the device and
// the training-set size N of the global terms (regularizedvi.md §6); trainable by engine/trainer.
#pragma once
#include <string>
#include <vector>

#include "engine/trainer.h"
#include "models/regularized_vi/regvi_module.h"

namespace cuvi::models {

// Per-cell codes of each covariate purpose (§2), raw category codes per key, row-major (R, keys).
struct RegviCells {
  int64_t n_cells = 0;
  std::vector<int32_t> nn, encoder, ambient, scaling;  // (R, n_keys) each
  std::vector<int32_t> dispersion, library;            // (R)
  std::vector<float> size_factor;                      // (R) when use_size_factor
};

class RegviModel : public TrainableModel {
 public:
  explicit RegviModel(const RegviConfig& config);
  // Declares, allocates and initialises the parameters (Philox, stream per name), then regularizedvi's
  // post-init fills (library mean-head bias = log sensitivity).
  void allocate(Backend& backend, uint64_t seed);
  ParamStore& params() override { return m_params; }
  const ParamStore& params() const { return m_params; }
  const RegviModule& module() const { return m_module; }
  const RegviConfig& config() const { return m_module.config(); }

  // The per-cell codes gathered by each minibatch's rows (uploaded once).
  void set_cells(const RegviCells& cells);
  // N of the global terms: the full training-set size (validation also uses it).
  void set_n_obs(int64_t n_obs);
  // First column of each modality (model order) in the minibatch's count matrix; default back to back.
  void set_column_offsets(const std::vector<int64_t>& col0);
  int64_t n_obs() const { return m_n_obs; }

  StepTensors record(Tape& tape, const MiniBatch& batch, bool training) override;
  std::vector<std::string> metric_names() const override { return {"reconstruction_loss", "kl_local", ""}; }
  // The run's Adam settings: modalities with an lr multiplier get a group of their own at lr * multiplier.
  void set_base_optimizer(const AdamConfig& base) { m_base_opt = base; }
  std::vector<ParamGroup> extra_optimizers() const override;
  // Trainable parameters of modality m (regularizedvi's per-modality containers).
  std::vector<int> modality_parameters(size_t m) const;

  // Tape inputs of a minibatch: counts split per modality, purpose codes gathered by the batch's rows.
  RegviInputs inputs(Tape& tape, const MiniBatch& batch) const;
  RegviOutputs forward(Graph& g, const RegviInputs& in, const RegviForwardOptions& opt = {}) const;

 private:
  struct CodeTable {
    DeviceBuffer buf;
    int64_t cols = 0;
    DType dtype = DType::I32;
  };
  void upload(CodeTable& t, const void* host, int64_t rows, int64_t cols, DType dtype);
  TensorId gather(Tape& tape, const CodeTable& t, const MiniBatch& mb) const;

  RegviModule m_module;
  ParamStore m_params;
  Backend* m_backend = nullptr;
  int64_t m_n_obs = 1, m_n_cells = 0;
  std::vector<int64_t> m_col0;
  CodeTable m_nn, m_enc, m_amb, m_disp, m_lib, m_sf;
  std::vector<CodeTable> m_scaling;  // one (R, 1) table per scaling key
  DeviceBuffer m_const;              // (1) global_constant() / N
  AdamConfig m_base_opt = AdamConfig::scvi();
};

// One-hot column offsets (linear's codes) of raw per-key codes: keys with <= 1 category are dropped
// (fc = true) or kept with offsets into the concatenated categories (fc = false).
std::vector<int32_t> onehot_offsets(const std::vector<int32_t>& codes, int64_t n_cells,
                                    const std::vector<int64_t>& n_cats, bool fc, int64_t* n_cols);

}  // namespace cuvi::models
