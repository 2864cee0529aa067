// Inference sessions: device dataset over all cells and an arena planned from the model's eval step.
#include "tools/workflow/session.h"

namespace cuvi::workflow {

void download_rows(Backend& b, const Tensor& t, float* out, int64_t row0, int64_t ld) {
  const int64_t n = t.dim(0), cols = t.numel() / std::max<int64_t>(n, 1);
  std::vector<float> host(t.numel());
  b.download(host.data(), t.data, t.nbytes());
  for (int64_t i = 0; i < n; ++i) std::copy(host.begin() + i * cols, host.begin() + (i + 1) * cols, out + (row0 + i) * ld);
}

std::vector<int64_t> normalize_genes(const NormalizeOptions& opt, int64_t n_genes) {
  std::vector<int64_t> genes = opt.genes;
  if (genes.empty())
    for (int64_t g = 0; g < n_genes; ++g) genes.push_back(g);
  for (int64_t g : genes) CUVI_CHECK(g >= 0 && g < n_genes, "gene index out of range");
  CUVI_CHECK(opt.n_samples >= 1, "--n-samples must be at least 1");
  return genes;
}

void accumulate_genes(Backend& b, const Tensor& t, const std::vector<int64_t>& genes, double scale, int64_t row0,
                      float* out) {
  const int64_t n = t.dim(0), G = t.numel() / std::max<int64_t>(n, 1), Gs = int64_t(genes.size());
  std::vector<float> rows(size_t(t.numel()));
  b.download(rows.data(), t.data, t.nbytes());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < Gs; ++k)
      out[(row0 + i) * Gs + k] += float(scale * rows[size_t(i * G + genes[size_t(k)])]);
}

InferenceSession::InferenceSession(Backend& backend, TrainableModel& model, PreparedData& data, int64_t batch_size,
                                   const LoaderOptions& loader, size_t extra_bytes)
    : m_backend(backend), m_batch_size(batch_size) {
  CUVI_CHECK(batch_size >= 1, "--batch-size must be positive");
  const CsrView m = data.counts();
  m_data = std::make_unique<DeviceDataset>(backend, m, data.cells, loader);
  m_all_rows.resize(m.n_rows);
  for (int64_t i = 0; i < m.n_rows; ++i) m_all_rows[i] = int32_t(i);
  const int64_t b = std::min<int64_t>(batch_size, m.n_rows);
  const size_t need = plan_step_bytes(backend, model, *m_data, b, false);
  m_arena = Arena(backend, need + need / 4 + extra_bytes + (1 << 20), "inference");
}

}  // namespace cuvi::workflow
