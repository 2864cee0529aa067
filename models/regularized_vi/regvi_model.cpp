// RegviModel implementation: parameter setup, device code tables, minibatch inputs and the training step.
#include "models/regularized_vi/regvi_model.h"

#include <cmath>

namespace cuvi::models {

std::vector<int32_t> onehot_offsets(const std::vector<int32_t>& codes, int64_t n_cells,
                                    const std::vector<int64_t>& n_cats, bool fc, int64_t* n_cols) {
  const int64_t K = int64_t(n_cats.size());
  std::vector<int64_t> offset(K, -1);
  int64_t at = 0, J = 0;
  for (int64_t k = 0; k < K; ++k) {
    if (fc && n_cats[k] <= 1) continue;
    offset[k] = at;
    at += n_cats[k];
    ++J;
  }
  std::vector<int32_t> out(n_cells * J);
  for (int64_t n = 0; n < n_cells; ++n) {
    int64_t j = 0;
    for (int64_t k = 0; k < K; ++k) {
      if (offset[k] < 0) continue;
      const int32_t c = codes[n * K + k];
      CUVI_CHECK(c >= 0 && c < n_cats[k], "category code " + std::to_string(c) + " out of range for a key with " +
                                              std::to_string(n_cats[k]) + " categories");
      out[n * J + j++] = int32_t(offset[k] + c);
    }
  }
  *n_cols = J;
  return out;
}

RegviModel::RegviModel(const RegviConfig& config) : m_module(config) {
  m_module.declare(m_params);
  int64_t at = 0;
  for (const RegviModality& m : config.modalities) {
    m_col0.push_back(at);
    at += m.n_features;
  }
}

void RegviModel::set_column_offsets(const std::vector<int64_t>& col0) {
  CUVI_CHECK(col0.size() == config().modalities.size(), "RegviModel: one column offset per modality");
  m_col0 = col0;
}

void RegviModel::allocate(Backend& backend, uint64_t seed) {
  m_backend = &backend;
  m_params.allocate(backend);
  m_params.initialize(seed);
  for (const RegviModule::ModalityParams& P : m_module.modality_params()) {
    if (P.lib_log_sens < 0) continue;
    const int b = m_params.find(P.names.l_encoder + ".mean_encoder.bias");
    m_params.set(b, m_params.get(P.lib_log_sens));
  }
  m_const = DeviceBuffer(backend, sizeof(double));
  set_n_obs(m_n_obs);
}

void RegviModel::set_n_obs(int64_t n_obs) {
  CUVI_CHECK(n_obs >= 1, "the training-set size N must be >= 1");
  m_n_obs = n_obs;
  if (!m_backend) return;
  const float v = float(m_module.global_constant() / double(n_obs));
  m_backend->upload(m_const.data(), &v, sizeof(float));
}

void RegviModel::upload(CodeTable& t, const void* host, int64_t rows, int64_t cols, DType dtype) {
  t.cols = cols;
  t.dtype = dtype;
  t.buf = DeviceBuffer();
  if (rows * cols == 0) return;
  t.buf = DeviceBuffer(*m_backend, size_t(rows * cols) * 4);
  m_backend->upload(t.buf.data(), host, size_t(rows * cols) * 4);
}

void RegviModel::set_cells(const RegviCells& cells) {
  CUVI_CHECK(m_backend, "RegviModel::set_cells before allocate");
  const RegviConfig& c = config();
  const int64_t R = cells.n_cells;
  m_n_cells = R;
  auto check_size = [&](const std::vector<int32_t>& v, size_t keys, const char* what) {
    CUVI_CHECK(v.size() == size_t(R) * keys, std::string("RegularizedVI: ") + what + " codes have " +
                                                 std::to_string(v.size()) + " entries, expected " +
                                                 std::to_string(size_t(R) * keys));
  };
  check_size(cells.nn, c.n_cats_nn.size(), "nn_conditioning");
  check_size(cells.encoder, c.n_cats_encoder.size(), "encoder");
  check_size(cells.ambient, c.n_cats_ambient.size(), "ambient");
  check_size(cells.scaling, c.n_cats_scaling.size(), "feature_scaling");
  int64_t J = 0;
  std::vector<int32_t> v = onehot_offsets(cells.nn, R, c.n_cats_nn, true, &J);
  upload(m_nn, v.data(), R, J, DType::I32);
  v = onehot_offsets(cells.encoder, R, c.n_cats_encoder, true, &J);
  upload(m_enc, v.data(), R, J, DType::I32);
  v = onehot_offsets(cells.ambient, R, c.n_cats_ambient, false, &J);
  upload(m_amb, v.data(), R, J, DType::I32);
  v = onehot_offsets(cells.scaling, R, c.n_cats_scaling, false, &J);
  m_scaling.clear();
  m_scaling.resize(size_t(J));
  for (int64_t k = 0; k < J; ++k) {
    std::vector<int32_t> col(R);
    for (int64_t n = 0; n < R; ++n) col[n] = v[n * J + k];
    upload(m_scaling[k], col.data(), R, 1, DType::I32);
  }
  auto group = [&](const std::vector<int32_t>& g, int64_t n_groups, const char* what, CodeTable& t) {
    CUVI_CHECK(g.size() == size_t(R), std::string("RegularizedVI: one ") + what + " group per cell expected");
    for (int32_t x : g)
      CUVI_CHECK(x >= 0 && x < n_groups, std::string("RegularizedVI: ") + what + " group " + std::to_string(x) +
                                             " out of range (" + std::to_string(n_groups) + " groups)");
    upload(t, g.data(), R, 1, DType::I32);
  };
  group(cells.dispersion, c.n_dispersion_cats, "dispersion", m_disp);
  group(cells.library, c.n_library_cats, "library-size", m_lib);
  if (c.use_size_factor) {
    CUVI_CHECK(cells.size_factor.size() == size_t(R), "RegularizedVI: one size factor per cell expected");
    std::vector<float> logs(R);
    for (int64_t n = 0; n < R; ++n) {
      CUVI_CHECK(cells.size_factor[n] > 0 && std::isfinite(cells.size_factor[n]),
                 "RegularizedVI: size factors must be positive and finite (cell " + std::to_string(n) + ")");
      logs[n] = std::log(cells.size_factor[n]);
    }
    upload(m_sf, logs.data(), R, 1, DType::F32);
  }
}

TensorId RegviModel::gather(Tape& tape, const CodeTable& t, const MiniBatch& mb) const {
  if (!t.buf.data() || t.cols == 0) return kNoTensor;
  const Tensor table(t.buf.data(), t.dtype, m_backend->device(), Shape{m_n_cells, t.cols});
  const Tensor rows(mb.rows.data, DType::I32, mb.rows.device, Shape{mb.n});
  return tape.apply1("gather_rows", {tape.input(table), tape.input(rows)});
}

RegviInputs RegviModel::inputs(Tape& tape, const MiniBatch& mb) const {
  const RegviConfig& c = config();
  CUVI_CHECK(m_n_cells > 0, "RegviModel: set_cells before recording a step");
  RegviInputs in;
  const TensorId x = tape.input(mb.x);
  if (c.modalities.size() == 1 && mb.x.dim(1) == c.modalities[0].n_features) {
    in.x.push_back(x);
  } else {
    for (size_t i = 0; i < c.modalities.size(); ++i)
      in.x.push_back(tape.apply1("slice_cols", {x}, params_i({m_col0[i], c.modalities[i].n_features})));
  }
  if (mb.cont.defined()) in.cont = tape.input(mb.cont);
  in.nn_codes = gather(tape, m_nn, mb);
  in.enc_codes = gather(tape, m_enc, mb);
  in.ambient_codes = gather(tape, m_amb, mb);
  for (const CodeTable& t : m_scaling) in.scaling_codes.push_back(tape.reshape(gather(tape, t, mb), Shape{mb.n}));
  in.disp_code = gather(tape, m_disp, mb);
  in.lib_code = gather(tape, m_lib, mb);
  if (c.use_size_factor) in.log_size_factor = gather(tape, m_sf, mb);
  return in;
}

RegviOutputs RegviModel::forward(Graph& g, const RegviInputs& in, const RegviForwardOptions& opt) const {
  const TensorId k = g.tape.input(Tensor(m_const.data(), DType::F32, m_backend->device(), Shape{1}));
  return m_module.forward(g, in, k, 1.0 / double(m_n_obs), opt);
}

std::vector<int> RegviModel::modality_parameters(size_t m) const {
  const RegviNames& n = m_module.modality_params().at(m).names;
  auto starts = [](const std::string& s, const std::string& p) { return s.rfind(p + ".", 0) == 0; };
  std::vector<int> ids;
  for (size_t id = 0; id < m_params.entries().size(); ++id) {
    const ParamEntry& e = m_params.entry(int(id));
    if (!e.trainable) continue;
    const std::string& s = e.name;
    if (starts(s, n.z_encoder) || starts(s, n.l_encoder) || starts(s, n.decoder) || s == n.px_r_mu ||
        s == n.px_r_log_sigma || s == n.rate_raw || s == n.background || s == n.scaling)
      ids.push_back(int(id));
  }
  return ids;
}

std::vector<ParamGroup> RegviModel::extra_optimizers() const {
  std::vector<ParamGroup> groups;
  const RegviConfig& c = config();
  for (size_t m = 0; m < c.modalities.size(); ++m) {
    auto it = c.modality_lr_multiplier.find(c.modalities[m].name);
    if (it == c.modality_lr_multiplier.end() || it->second == 1.0) continue;  // same settings as the main group
    ParamGroup g;
    g.params = modality_parameters(m);
    g.config = m_base_opt;
    g.config.lr = m_base_opt.lr * it->second;
    g.config.fixed_lr = true;
    groups.push_back(g);
  }
  return groups;
}

StepTensors RegviModel::record(Tape& tape, const MiniBatch& mb, bool training) {
  Graph g{tape, m_params, training, nullptr};
  const RegviOutputs o = forward(g, inputs(tape, mb));
  StepTensors st;
  st.loss = o.loss;
  st.metrics[0] = o.recon;  // reconstruction_loss
  st.metrics[1] = o.kl_local;  // kl_z + kl_l, unweighted
  return st;
}

}  // namespace cuvi::models
