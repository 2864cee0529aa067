// Adam implementation: segment table of used parameters (adjacent ones merged), CPU reference or
// one CUDA launch per step; step counter and clipping scale live in the backend's step scalars.
#include "engine/optimizer.h"

#ifndef CUVI_CPU_ONLY
#include <cuda_runtime_api.h>
#endif

#include "kernels/cpu/adam.h"
#ifndef CUVI_CPU_ONLY
#include "kernels/cuda/adam.h"
#endif

namespace cuvi {

Adam::Adam(Backend& backend, ParamStore& params, const AdamConfig& config)
    : m_backend(backend), m_params(params), m_config(config) {
  CUVI_CHECK(params.allocated(), "optimizer created before the parameters were allocated");
  if (backend.device() == Device::CUDA) {
    // At most one segment per trainable entry: allocated once, so set_used never allocates.
    size_t n_trainable = 0;
    for (const ParamEntry& e : params.entries()) n_trainable += e.trainable;
    m_segments_dev = DeviceBuffer(backend, std::max<size_t>(1, 2 * n_trainable) * sizeof(int64_t));
    if (config.fixed_lr) m_lr_dev = DeviceBuffer(backend, sizeof(double));
    m_ticket_dev = DeviceBuffer(backend, sizeof(uint64_t));
    const uint64_t zero = 0;
    backend.upload(m_ticket_dev.data(), &zero, sizeof zero);
  }
  set_lr(config.lr);
}

void Adam::set_lr(double lr) {
  if (m_config.fixed_lr) {
    m_config.lr = lr;
    if (m_backend.device() == Device::CUDA) m_backend.upload(m_lr_dev.data(), &lr, sizeof(double));
    return;
  }
  StepScalars s = m_backend.read_scalars();
  s.lr = lr;
  m_backend.write_scalars(s);
}

void Adam::set_used(const std::vector<int>& params_with_grad) {
  if (uses(params_with_grad)) return;
#ifndef CUVI_CPU_ONLY
  if (m_backend.device() == Device::CUDA) {
    // The upload below synchronises with the host, which a stream capture forbids.
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    cudaStreamIsCapturing(static_cast<cudaStream_t>(m_backend.ctx().stream), &status);
    CUVI_CHECK(status == cudaStreamCaptureStatusNone,
               "Adam: the parameters with gradients changed inside a captured step (the trainer must capture a "
               "step only when the optimizer's segment table already matches)");
  }
#endif
  m_used = params_with_grad;
  m_segments.clear();
  m_max_segment = 0;
  for (int id : m_used) {
    const ParamEntry& e = m_params.entry(id);
    const int64_t start = static_cast<int64_t>(e.offset), len = e.shape.numel();
    const size_t k = m_segments.size();
    if (k >= 2 && m_segments[k - 2] + m_segments[k - 1] == start) {
      m_segments[k - 1] += len;  // padding makes this rare; merge when contiguous
    } else if (k >= 2 && start - (m_segments[k - 2] + m_segments[k - 1]) < int64_t(ParamStore::kAlignFloats)) {
      // The gap is alignment padding (always zero: params, grads and moments start zeroed).
      m_segments[k - 1] = start + len - m_segments[k - 2];
    } else {
      m_segments.push_back(start);
      m_segments.push_back(len);
    }
    m_max_segment = std::max(m_max_segment, m_segments.back());
  }
  ++m_table_version;
  if (m_backend.device() == Device::CUDA && !m_segments.empty()) {
    CUVI_CHECK(m_segments.size() * sizeof(int64_t) <= m_segments_dev.size(), "Adam: segment table overflow");
    m_backend.upload(m_segments_dev.data(), m_segments.data(), m_segments.size() * sizeof(int64_t));
  }
}

void Adam::step(bool advance_step) {
  const int64_t n_seg = static_cast<int64_t>(m_segments.size() / 2);
  ExecContext& ctx = m_backend.ctx();
  if (m_backend.device() == Device::CPU) {
    StepScalars& s = *ctx.scalars;
    double scale = 1.0;
    if (m_config.clip_norm > 0) {
      s.grad_norm = cpu::grad_norm(m_params.flat_grads(), m_segments.data(), n_seg);
      const double coef = m_config.clip_norm / (s.grad_norm + 1e-6);
      scale = s.clip_scale = coef < 1.0 ? coef : 1.0;
    }
    const double lr = m_config.fixed_lr ? m_config.lr : s.lr;
    const AdamConstants c = adam_constants(lr, m_config.beta1, m_config.beta2, m_config.eps,
                                           m_config.weight_decay, m_config.decoupled, s.step + 1, scale);
    cpu::adam_step<float>(c, m_params.flat_params(), m_params.flat_grads(), m_params.flat_m(), m_params.flat_v(),
                          m_segments.data(), n_seg);
    if (advance_step) s.step += 1;
    return;
  }
#ifndef CUVI_CPU_ONLY
  cuda::AdamHyper h{m_config.beta1, m_config.beta2, m_config.eps, m_config.weight_decay, m_config.clip_norm,
                    m_config.decoupled};
  StepScalars* s = ctx.scalars;  // device pointer
  try {
    cuda::adam_step(static_cast<cudaStream_t>(ctx.stream), h, m_params.flat_params(), m_params.flat_grads(),
                    m_params.flat_m(), m_params.flat_v(), static_cast<const int64_t*>(m_segments_dev.data()), n_seg,
                    m_max_segment, m_config.fixed_lr ? static_cast<const double*>(m_lr_dev.data()) : &s->lr,
                    &s->step, &s->clip_scale, &s->grad_norm, ctx.workspace, ctx.workspace_bytes,
                    advance_step ? static_cast<unsigned*>(m_ticket_dev.data()) : nullptr);
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
#endif
}

}  // namespace cuvi
